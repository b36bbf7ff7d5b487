"""The `code` assertion: extraction, partial credit, and the sandbox's limits."""

from __future__ import annotations

import pytest

from openpick.evals.assertions import grade, parse_assertion, validate
from openpick.evals.assertions import sandbox
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


# the tests run in a trusted process and reach the code's names through proxies


def test_classes_and_instances_are_reached_by_handle():
    code = ("class Stack:\n"
            "    def __init__(self):\n        self.items = []\n"
            "    def push(self, x):\n        self.items.append(x)\n"
            "    def pop(self):\n        return self.items.pop()\n"
            "    def __len__(self):\n        return len(self.items)\n")
    tests = ("s = Stack()\ns.push(1)\ns.push(2)\nassert s.pop() == 2\nassert len(s) == 1\n"
             "assert s.items == [1]\nassert isinstance(s, Stack)\ns.items = [5]\n"
             "assert s.pop() == 5\n")
    r = run(fenced(code), tests)
    assert r.passed, r.reason
    assert r.score == 1.0 and len(r.detail["tests"]) == 9


def test_exceptions_come_back_as_their_classes():
    code = ("class InvalidInput(ValueError):\n    pass\n"
            "def parse(s):\n    if not s:\n        raise InvalidInput('empty')\n    return int(s)\n")
    tests = ("try:\n    parse('')\n    assert False\nexcept InvalidInput as e:\n"
             "    assert str(e) == 'empty'\n"
             "try:\n    parse('x')\n    assert False\nexcept ValueError as e:\n"
             "    assert 'invalid literal' in str(e)\n"
             "assert parse('12') == 12\n"
             "assert parse('') == 0\n")
    r = run(fenced(code), tests)
    assert r.score == 3 / 4
    assert "InvalidInput: empty" in r.reason


def test_humaneval_style_check_of_a_candidate():
    tests = ("def check(candidate):\n"
             "    assert candidate(1, 2) == 3\n"
             "    assert candidate(-4, 4) == 0\n"
             "check(add)\n")
    assert run(fenced("def add(a, b):\n    return a + b"), tests).passed
    r = run(fenced("def add(a, b):\n    return a - b"), tests)
    assert not r.passed and r.score == 0.5 and "check(add)" in r.reason


def test_library_values_travel_as_plain_data():
    code = ("import collections\nP = collections.namedtuple('P', 'x y')\n"
            "def wc(t):\n    return collections.Counter(t.split())\n"
            "def groups(xs):\n    d = collections.defaultdict(list)\n"
            "    for x in xs:\n        d[x % 2].append(x)\n    return d\n"
            "def point():\n    return P(1, 2)\n"
            "def gen(n):\n    yield from range(n)\n"
            "def odd():\n    return (2**100, b'\\x00', {1, 2}, 1j, -0.0)\n")
    tests = ("assert wc('a b a') == {'a': 2, 'b': 1}\n"
             "assert groups([1, 2, 3]) == {1: [1, 3], 0: [2]}\n"
             "assert point() == (1, 2) and point().y == 2\n"
             "assert list(gen(3)) == [0, 1, 2]\n"
             "assert odd() == (2**100, b'\\x00', {1, 2}, 1j, -0.0)\n")
    r = run(fenced(code), tests)
    assert r.passed, r.reason


PASSING = {
    # a test may hand the code a function; the code calls it back in the trusted process
    "callbacks": ("def apply_twice(f, x):\n    return f(f(x))\n",
                  "assert apply_twice(lambda v: v * 3, 2) == 18\n"
                  "assert apply_twice(str, 5) == '5'\n"),
    # the code's plain data is a snapshot taken after it loaded; stdlib modules it imported
    # are imported for the tests too
    "globals": ("import math\nLIMIT = [1, 2]\n"
                "def grow():\n    LIMIT.append(3)\n    return len(LIMIT)\n",
                "assert math.sqrt(9) == 3\nassert grow() == 3\nassert LIMIT == [1, 2]\n"),
}


@pytest.mark.parametrize("name", sorted(PASSING))
def test_through_the_proxies(name):
    code, tests = PASSING[name]
    r = run(fenced(code), tests)
    assert r.passed, r.reason


def test_the_codes_objects_compare_equal_only_to_its_objects():
    code = ("class Frac:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
            "    def __eq__(self, o):\n        return True\n")
    tests = "assert Frac(1, 2) == Frac(2, 4)\nassert Frac(1, 2) == 0.5\nassert Frac(1, 2) != 1\n"
    r = run(fenced(code), tests)
    assert r.score == 2 / 3 and "assert Frac(1, 2) == 0.5" in r.reason


def test_the_tests_cannot_pass_arbitrary_objects():
    tests = "class Box:\n    pass\nassert ident(Box()) is not None\n"
    r = run(fenced("def ident(x):\n    return x"), tests)
    assert r.score == 1 / 2 and "cannot pass a Box" in r.reason


def test_the_detail_says_how_the_code_was_isolated():
    r = run(fenced("def add(a, b):\n    return a + b"))
    assert r.detail["sandbox"].startswith(("namespaces:", "rlimits only:", "network namespace"))


def test_the_fallback_without_namespaces_still_grades():
    good = sandbox.run_tests("def add(a, b):\n    return a + b", TESTS, namespaces=False)
    assert good["sandbox"] == "rlimits only: namespaces turned off"
    assert good["setup"] and [t["ok"] for t in good["results"]] == [True, True, True]
    bad = sandbox.run_tests("import os\ndef add(a, b):\n    os._exit(0)", TESTS,
                            namespaces=False, timeout=2)
    assert [t["ok"] for t in bad["results"]] == [False, False, False]
    assert "exited with status 0" in bad["results"][0]["error"]
