"""Every supported promptfoo example (tests/fixtures/promptfoo) run unchanged on the real
embedded SmolLM2: `openpick compare CONFIG -m smollm2-135m --json --limit 2`."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.engines.embedded import EMBEDDED

pytestmark = pytest.mark.slow

FIX = Path(__file__).parents[1] / "fixtures" / "promptfoo"
# the copies of promptfoo's examples that openpick runs as written
EXAMPLES = [
    "getting-started/promptfooconfig.yaml", "ollama/promptfooconfig.yaml",
    "python-assert/promptfooconfig-inline.yaml", "python-assert/promptfooconfig-external.yaml",
    "csv-metadata/promptfooconfig.yaml", "eval-self-grading/promptfooconfig.yaml",
    "simple-test/promptfooconfig.yaml", "simple-csv/promptfooconfig.yaml",
    "simple-cli/promptfooconfig.yaml", "javascript-assert-external/promptfooconfig.yaml",
    "phi-vs-llama/promptfooconfig.yaml", "gpt-4o-vs-4o-mini/promptfooconfig.yaml",
    "groq/promptfooconfig.yaml", "mistral-llama-comparison/promptfooconfig.yaml",
    "claude-vs-gpt/promptfooconfig.yaml",
]
NEEDS_NODE = {"eval-self-grading", "simple-test", "javascript-assert-external", "claude-vs-gpt"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_promptfoo_example_runs_unchanged_on_smollm2(name):
    if EMBEDDED["smollm2-135m"].status() != "ready":
        pytest.skip(f"smollm2-135m is not installed: {EMBEDDED['smollm2-135m'].pip}")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python missing: pip install 'openpick[llama]'")
    if name.split("/")[0] in NEEDS_NODE and shutil.which("node") is None:
        pytest.skip("Node.js is not installed (no `node` on PATH): the example has javascript "
                    "assertions")
    r = CliRunner().invoke(app, ["compare", str(FIX / name), "-m", "smollm2-135m", "--json",
                                 "--limit", "2"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)["results"]
    assert results, "no results"
    assert len({x["case_id"] for x in results}) <= 2
    for x in results:
        assert x["error"] is None, x["error"]          # the engine answered every case
        assert isinstance(x["output"], str)
        for a in x["grade"]["assertions"]:             # every assertion graded, with a reason
            assert isinstance(a["passed"], bool) and a["reason"], a
            assert not a["reason"].startswith("error while checking"), a
            assert "did not finish" not in a["reason"], a
