"""The `code` assertion: extraction, partial credit, and the sandbox's limits."""

from __future__ import annotations

from openpick.evals.assertions import grade, parse_assertion, validate
from openpick.evals.assertions.code import extract_code

TESTS = "assert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(-1, 1) == 0\n"


def run(output, tests=TESTS, **opts):
    a = validate(parse_assertion({"code": tests, **opts}))
    return grade([a], output).assertions[0]


def fenced(code: str, lang: str = "python") -> str:
    return f"Here you go:\n```{lang}\n{code}\n```\nThat's it."


def test_passes_with_a_correct_function():
    r = run(fenced("def add(a, b):\n    return a + b"))
    assert r.passed and r.score == 1.0 and r.reason == "3/3 tests passed"
    assert r.detail["code"].startswith("def add")


def test_fails_with_partial_credit_and_names_the_failing_test():
    r = run(fenced("def add(a, b):\n    return abs(a + b) if a else b + a + 0"))
    r = run(fenced("def add(a, b):\n    return a + b if a >= 0 else 99"))
    assert not r.passed and r.score == 2 / 3
    assert "assert add(-1, 1) == 0" in r.reason and "AssertionError" in r.reason


def test_code_that_does_not_run():
    r = run(fenced("def add(a, b)\n    return a + b"))
    assert not r.passed and r.score == 0 and "SyntaxError" in r.reason


def test_timeout_kills_the_child():
    r = run(fenced("def add(a, b):\n    while True:\n        pass"), timeout=1)
    assert not r.passed and "timed out after 1 s" in r.reason and r.detail["timed_out"]


def test_network_is_blocked():
    code = ("import socket\n"
            "def add(a, b):\n"
            "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
            "    return a + b")
    r = run(fenced(code))
    assert not r.passed and "network access is disabled" in r.reason
    r = run(fenced("import socket\ndef add(a, b):\n    socket.socket()\n    return a + b"))
    assert "network access is disabled" in r.reason


def test_memory_is_limited():
    code = "def add(a, b):\n    x = bytearray(1024 * 1024 * 1024)\n    return a + b"
    r = run(fenced(code), memory_mb=256)
    assert not r.passed and "MemoryError" in r.reason


def test_runs_in_an_empty_scratch_dir_with_an_empty_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENPICK_SECRET", "s3cret")
    code = ("import os\n"
            "def add(a, b):\n"
            "    assert 'OPENPICK_SECRET' not in os.environ\n"
            "    assert 'openpick-code-' in os.getcwd()\n"
            "    assert sorted(os.listdir('.'))[:1] == ['harness.py']\n"
            "    return a + b")
    r = run(fenced(code))
    assert r.passed, r.reason


def test_solution_main_block_does_not_run():
    code = "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    raise SystemExit(3)"
    assert run(fenced(code)).passed


def test_extract_code_variants():
    assert extract_code("def f(): pass") == "def f(): pass"
    two = "```\nprint(1)\n```\n```python\ndef f():\n    return 1\n```"
    assert extract_code(two).startswith("def f")
    assert extract_code("```py\ndef g(): pass\n```") == "def g(): pass\n"
    # an answer cut by max_tokens leaves the fence open
    assert extract_code("```python\ndef h():\n    return 2").startswith("def h")
    # other languages are used only when there is no Python block
    assert extract_code("```js\nlet x\n```") == "let x\n"


def test_tests_file_next_to_the_suite(tmp_path):
    (tmp_path / "t.py").write_text("assert double(2) == 4\n")
    a = validate(parse_assertion({"code": "t.py"}), tmp_path)
    assert grade([a], fenced("def double(x):\n    return 2 * x")).passed
