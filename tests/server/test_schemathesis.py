"""Property-based requests generated from the server's own OpenAPI schema (fake engine):
whatever arrives, the server answers without a 500, and its errors have OpenAI's shape."""

from __future__ import annotations

import os
import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from openpick.server import Settings, create_app  # noqa: E402

# The schema is read at import, before the autouse fixture sets OPENPICK_HOME: give the app
# its own empty home so no user config leaks in.
os.environ.setdefault("OPENPICK_HOME", tempfile.mkdtemp(prefix="openpick-schemathesis-"))
APP = create_app(Settings(models={"echo": "fake:echo", "hello": "fake:Hello there."},
                          max_tokens_cap=64))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/(v1/|health$|metrics$)")


def check(response, case) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and case.path.startswith("/v1/"):
        body = response.json()
        assert set(body["error"]) == {"message", "type", "param", "code"}, body


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    check(case.call(), case)
    # Random model names are all 404s; the same body on a real (fake) model reaches the
    # engine with whatever sampling values were generated.
    if isinstance(case.body, dict) and "model" in case.body:
        case.body["model"] = "echo"
        check(case.call(), case)
