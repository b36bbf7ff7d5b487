"""The README's code blocks, run as written: an example that fails, or a listing that comes
back empty, fails the build.

Blocks run in README order in one working folder (with the files the examples name, from
tests/fixtures/readme/) and one OPENPICK_HOME, so `runs list` sees the run that `compare`
made above it. A block may be preceded by one directive, an HTML comment GitHub does not
show:

    <!-- readme-test: skip REASON -->       not run; the reason is printed
    <!-- readme-test: background PORT -->   started in the background (a server); the block
                                             after it runs once PORT answers /health
    <!-- readme-test: stdin TEXT -->         TEXT (with \\n escapes) is the command's input
    <!-- readme-test: exit N -->             every command must exit N (a failing gate)
    <!-- readme-test: file NAME -->          the block is written to NAME in the folder (a
                                             config file the blocks below use), then checked

`sh` blocks: each command (a line, `\\` continues it) must exit 0. A catalog listing
(`models list`, `models search`, `recommend`) is also rerun with `--json` and must list at
least one model. `python` blocks run as a script; `toml` blocks must load as openpick.toml;
`yaml` blocks must equal the example file they show, unless written with `file` (then
they must load as a suite; `jsonl` files must parse).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FIXTURES = ROOT / "tests" / "fixtures" / "readme"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*readme-test:\s*(\w[\w-]*)\s*(.*?)\s*-->\s*$")
LISTINGS = re.compile(r"^openpick (models (list|search)|recommend)\b")


@dataclass
class Block:
    line: int          # of the opening fence
    lang: str
    text: str
    directive: str | None = None
    arg: str = ""

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.lang or 'text'}"


def readme_blocks() -> list[Block]:
    blocks, lines = [], README.read_text(encoding="utf-8").splitlines()
    pending: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        d = DIRECTIVE.match(lines[i])
        f = FENCE.match(lines[i])
        if d:
            pending = (d.group(1), d.group(2))
        elif f and f.group(1):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            b = Block(start, f.group(1), "\n".join(body) + "\n")
            if pending:
                b.directive, b.arg = pending
            blocks.append(b)
            pending = None
        elif lines[i].strip():
            pending = None  # a directive applies to the block right below it
        i += 1
    return blocks


def commands(text: str) -> list[str]:
    """Shell commands of an sh block: `\\` continuations joined, comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        # drop a comment line or a trailing `  # ...` comment; the rest goes to bash as
        # written (so ~ and "$VAR" expand as they would for the reader)
        cmd = re.sub(r"(^|\s+)#(\s.*)?$", "", cur).strip()
        if cmd:
            out.append(re.sub(r"\s+", " ", cmd) if "'" not in cmd and '"' not in cmd else cmd)
        cur = ""
    return out


BLOCKS = readme_blocks()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The folder the examples run in, its files, and the environment they see."""
    from openpick.engines.embedded import EMBEDDED

    base = tmp_path_factory.mktemp("readme")
    work, home = base / "work", base / "home"
    shutil.copytree(FIXTURES, work)
    (home / "models").mkdir(parents=True)
    # `~/models/llama.gguf` in the README: a real GGUF (the embedded SmolLM2's file)
    (home / "models" / "llama.gguf").symlink_to(EMBEDDED["smollm2-135m"].path())
    env = dict(os.environ, HOME=str(home), OPENPICK_HOME=str(base / "openpick-home"),
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               GITHUB_STEP_SUMMARY=str(base / "step-summary.md"), COLUMNS="120")
    env.pop("OPENPICK_API_KEY", None)
    state = {"dir": work, "env": env, "background": []}
    yield state
    for proc in state["background"]:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _run(cmd: str, work: dict, stdin: str | None = None, timeout: float = 420):
    return subprocess.run(["bash", "-c", cmd], cwd=work["dir"], env=work["env"], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def _wait_health(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"background command exited with {proc.returncode}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"nothing answered on port {port} within {timeout:.0f} s")


def test_readme_has_blocks_and_valid_directives():
    assert len(BLOCKS) >= 10, "the README lost its examples"
    for b in BLOCKS:
        assert b.directive in (None, "skip", "background", "stdin", "exit", "file"), b.id
        if b.directive == "skip":
            assert b.arg, f"{b.id}: a skip needs a reason"


def test_commands_parse_continuations_and_comments():
    got = commands("openpick a \\\n    --b c   # note\n# only a comment\nopenpick d \"$X\"  # n\n"
                   "openpick ask -m 'x#y' ~/f\n")
    assert got == ["openpick a --b c", 'openpick d "$X"', "openpick ask -m 'x#y' ~/f"]


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, workdir):
    if block.directive == "skip":
        print(f"\n{block.id}: not run: {block.arg}")
        return
    if block.directive == "file":
        path = workdir["dir"] / block.arg
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
        if block.lang in ("yaml", "jsonl"):
            _data_file_block(block, path, workdir)
        elif block.lang == "toml":
            _toml_block(block, workdir)
        return
    if block.lang in ("sh", "bash", "shell"):
        _sh_block(block, workdir)
    elif block.lang == "python":
        res = _run(f"{shlex.quote(sys.executable)} -", workdir, stdin=block.text)
        assert res.returncode == 0, f"{block.id}: python failed:\n{res.stderr[-3000:]}"
    elif block.lang == "toml":
        _toml_block(block, workdir)
    elif block.lang == "yaml":
        _yaml_block(block)
    else:
        pytest.fail(f"{block.id}: no rule runs a `{block.lang}` block; give it a directive")


def _sh_block(block: Block, work: dict) -> None:
    if block.directive == "background":
        port = int(block.arg)
        for cmd in commands(block.text):
            proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=work["dir"],
                                    env=work["env"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
            work["background"].append(proc)
            _wait_health(port, proc)
        return
    stdin = None
    if block.directive == "stdin":
        stdin = block.arg.encode().decode("unicode_escape")
    want = int(block.arg) if block.directive == "exit" else 0
    for cmd in commands(block.text):
        res = _run(cmd, work, stdin=stdin)
        assert res.returncode == want, (
            f"{block.id}: `{cmd}` exited {res.returncode} (want {want}):\n"
            f"{res.stderr[-3000:]}\n{res.stdout[-2000:]}")
        if LISTINGS.match(cmd):
            js = cmd if " --json" in cmd else f"{cmd} --json"
            out = _run(js, work)
            assert out.returncode == 0, f"{block.id}: `{js}` failed: {out.stderr[-2000:]}"
            data = json.loads(out.stdout)
            rows = data if isinstance(data, list) else (
                data.get("models") or data.get("results") or data.get("recommendations") or [])
            assert rows, f"{block.id}: `{cmd}` lists no model"


def _data_file_block(block: Block, path: Path, work: dict) -> None:
    """A suite (native, promptfoo or lm-eval) must load; a JSONL file must parse."""
    if block.lang == "jsonl":
        for n, line in enumerate(block.text.splitlines(), 1):
            assert isinstance(json.loads(line), dict), f"{block.id}: line {n} is no object"
        return
    code = f"import openpick; s = openpick.load_suite({str(path)!r}); assert s.items(), 'no cases'"
    res = _run(f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}", work)
    assert res.returncode == 0, f"{block.id}: {block.arg} does not load:\n{res.stderr[-2000:]}"


def _toml_block(block: Block, work: dict) -> None:
    from openpick.engines import config
    from openpick.server import routes

    data = tomllib.loads(block.text)  # a syntax error fails here, naming the line
    path = work["dir"] / f"readme-{block.line}.toml"
    path.write_text(block.text, encoding="utf-8")
    if "models" in data:
        assert set(config._read(path)) == set(data["models"]), block.id
    if "routes" in data or "aliases" in data:
        routing = routes._read_routing(path)
        assert set(routing.routes) == set(data.get("routes", {})), block.id
        assert set(routing.aliases) == set(data.get("aliases", {})), block.id


def _yaml_block(block: Block) -> None:
    first = block.text.splitlines()[0]
    examples = [p for p in (ROOT / "examples").rglob("*.y*ml")
                if p.read_text(encoding="utf-8").splitlines()[:1] == [first]]
    assert examples, f"{block.id}: a yaml block must show an example file (none starts {first!r})"
    assert examples[0].read_text(encoding="utf-8") == block.text, (
        f"{block.id}: differs from {examples[0].relative_to(ROOT)}")
