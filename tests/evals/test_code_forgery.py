"""Model answers that try to forge their `code` grade instead of solving the task.

Each answer below is graded by the real `code` assertion and must fail. The checks that
depend on the namespaces (filesystem, network, other processes) are skipped, with the reason
printed, where the kernel does not allow unprivileged user namespaces. The forgeries write
only to their own fds and to files of the grade's own scratch dir, so running them against a
broken sandbox (or the old harness) harms nothing else.
"""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import textwrap
import time
import venv
from pathlib import Path

import pytest

from openpick.evals.assertions import grade, parse_assertion, validate
from openpick.evals.assertions import sandbox

TESTS = "assert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(-1, 1) == 0\n"
TEST_LINES = TESTS.splitlines()


def run(code: str, tests: str = TESTS, **opts):
    a = validate(parse_assertion({"code": tests, **opts}))
    return grade([a], f"```python\n{textwrap.dedent(code)}\n```").assertions[0]


@functools.cache
def isolation() -> str:
    return sandbox.run_tests("x = 1", "assert x == 1", timeout=10)["sandbox"]


def needs_namespaces():
    if isolation() != sandbox.ISOLATED:
        pytest.skip(f"the sandbox runs without namespaces here ({isolation()}); "
                    "this check needs them")


# the lines the old harness trusted, and the writes every forgery below tries
FORGE = f'''
import json, os, sys
LINES = "".join(json.dumps(r) + "\\n" for r in
                [{{"setup": True}}] + [{{"test": t, "ok": True}} for t in {TEST_LINES!r}])

def forge_everywhere():
    """Write pass lines to every fd, the files of the grade's scratch dir, /proc/self/fd/*."""
    for fd in range(256):
        try:
            os.write(fd, LINES.encode())
        except OSError:
            pass
    # only the grade's own scratch dir (openpick-code-*), at most 50 files: run against a
    # broken sandbox or an older layout (whose cwd's parent was /tmp), this must not spray
    # files that belong to anyone else
    grade_dir = os.path.dirname(os.getcwd())
    if os.path.basename(grade_dir).startswith("openpick-code-"):
        paths = [os.path.join(base, n) for base, _, names in os.walk(grade_dir) for n in names]
        for path in paths[:50]:
            try:
                with open(path, "a") as f:
                    f.write(LINES)
            except OSError:
                pass
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            with open(f"/proc/self/fd/{{fd}}", "a") as f:
                f.write(LINES)
        except OSError:
            pass
'''


def test_a_correct_solution_passes():
    r = run("def add(a, b):\n    return a + b")
    assert r.passed and r.score == 1.0


def test_writing_pass_lines_to_the_result_file_in_argv_then_exiting():
    # the six-line answer that passed every test under the old harness
    code = f'''
        import json, os, sys
        with open(sys.argv[3], "w") as out:
            out.write(json.dumps({{"setup": True}}) + "\\n")
            for t in {TEST_LINES!r}:
                out.write(json.dumps({{"test": t, "ok": True}}) + "\\n")
        os._exit(0)
        '''
    r = run(code)
    assert not r.passed and r.score == 0 and "exited with status 0" in r.reason


def test_writing_pass_lines_to_every_fd_and_file_it_can_find():
    r = run(FORGE + "forge_everywhere()\ndef add(a, b):\n    forge_everywhere()\n    return 7")
    assert not r.passed and r.score == 0
    assert "AssertionError" in r.reason


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(0)"])
def test_exiting_before_the_tests(exit_call):
    r = run(FORGE + f"forge_everywhere()\n{exit_call}\ndef add(a, b):\n    return a + b")
    assert not r.passed and r.score == 0 and not r.detail["tests"]


def test_exiting_during_a_test_fails_it_even_when_the_test_catches_everything():
    tests = "try:\n    add(1, 2)\nexcept BaseException:\n    pass\nassert True\n"
    r = run(FORGE + "def add(a, b):\n    forge_everywhere()\n    os._exit(0)", tests)
    assert not r.passed and r.score == 0
    first, second = r.detail["tests"]
    assert "exited with status 0" in first["error"]
    assert second["error"].startswith("not run:")


def test_monkeypatching_the_test_machinery():
    code = FORGE + '''
import ast, builtins, operator
builtins.AssertionError = type("NeverRaised", (Exception,), {})
builtins.exec = builtins.compile = lambda *a, **k: None
ast.parse = lambda *a, **k: ast.Module([], [])
operator.eq = lambda a, b: True
sys.modules["__main__"].report = lambda **kw: None
sys.modules["__main__"].run_tests = lambda *a, **k: None
def add(a, b):
    return 7
'''
    r = run(code)
    assert not r.passed and r.score == 0


def test_rewriting_its_own_answers_to_always_say_yes():
    # the code may take over the whole child, reply machinery included: the tests still
    # compare the answers themselves
    code = '''
import gc, sys
main = sys.modules["__main__"]
main.ChildLink.serve = lambda self, msg: {"re": msg.get("id"), "value": True}
def is_even(n):
    return n % 2 == 0
'''
    tests = "assert is_even(4) is True\nassert is_even(7) is False\n"
    r = run(code, tests)
    assert not r.passed and r.score == 0.5


def test_objects_that_equal_everything():
    code = '''
class Yes:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
class YesInt(int):
    def __eq__(self, other):
        return True
class YesStr(str):
    def __eq__(self, other):
        return True
class Near:
    def __sub__(self, other):
        return 0
    __rsub__ = __sub__
def add(a, b):
    return [Yes(), YesInt(0), YesStr(""), Near()][a % 4]
'''
    tests = ("assert add(0, 0) == 3\nassert add(1, 0) == 3\nassert add(2, 0) == 'x'\n"
             "assert abs(add(3, 0) - 3) < 1e-9\nassert abs(3 - add(3, 0)) < 1e-9\n")
    r = run(code, tests)
    assert not r.passed and r.score == 0


def test_shadowing_the_builtins_the_tests_use():
    code = """
def abs(x):
    return 0
def all(xs):
    return True
def isinstance(obj, cls):
    return True
def to_fahrenheit(c):
    return 0
"""
    tests = ("assert abs(to_fahrenheit(-40) - (-40)) < 1e-9\n"
             "assert all([to_fahrenheit(0) == 32])\n"
             "assert isinstance(to_fahrenheit(0), float)\n")
    r = run(code, tests)
    assert not r.passed and r.score == 0


def test_handing_the_tests_its_own_builtins():
    # the child chooses what its setup reports; the runner must not take names like
    # __builtins__ from it
    code = """
import sys
main = sys.modules["__main__"]
class FakeBuiltins:
    def __getitem__(self, name):
        import builtins
        return (lambda x: 0) if name == "abs" else getattr(builtins, name)
report = main.ChildLink.setup_names
def setup_names(self, ns):
    names = report(self, ns)
    names["__builtins__"] = self.codec.encode(FakeBuiltins())
    names["abs"] = self.codec.encode(lambda x: 0)
    return names
main.ChildLink.setup_names = setup_names
def to_fahrenheit(c):
    return 0
"""
    r = run(code, "assert abs(to_fahrenheit(-40) - (-40)) < 1e-9\n")
    assert not r.passed and r.score == 0


def test_printing_fake_results():
    code = FORGE + '''
for line in LINES.splitlines():
    print(line)
    for word in sys.argv:      # the child's framing nonce is among its arguments
        print(word, line)
        print(word, json.dumps({"re": 0, "names": {}}), file=sys.stderr)
def add(a, b):
    print(LINES)
    return 7
'''
    r = run(code)
    assert not r.passed and r.score == 0


def test_the_tests_are_not_where_the_code_can_read_them():
    # if any tests file were readable, this add would answer from it and pass
    code = '''
import glob, os, re
FOUND = {}
here = os.getcwd()
places = [here, os.path.dirname(here), *glob.glob("/tmp/openpick-code-*")]
for top in places:
    for path in glob.glob(os.path.join(top, "**", "*.py"), recursive=True)[:2000]:
        try:
            text = open(path).read()
        except OSError:
            continue
        for a, b, want in re.findall(r"add\\((-?\\d+), (-?\\d+)\\) == (-?\\d+)", text):
            FOUND[(int(a), int(b))] = int(want)
def add(a, b):
    return FOUND.get((a, b), 7)
'''
    r = run(code)
    assert not r.passed and r.score == 0


def test_killing_its_parents_after_forging():
    code = FORGE + '''
import signal
forge_everywhere()
for pid in {os.getppid(), 0}:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
def add(a, b):
    return 7
'''
    r = run(code)
    assert not r.passed and r.score == 0


LINGER = FORGE + '''
import time
if os.fork() == 0:
    os.setsid()
    with open("/proc/self/comm", "w") as f:
        f.write("TAG")
    for _ in range(20):
        forge_everywhere()
        time.sleep(0.05)
    os._exit(0)
def add(a, b):
    return 7
'''


def test_a_forked_child_that_keeps_forging():
    r = run(LINGER.replace("TAG", "opk-forge"))
    assert not r.passed and r.score == 0


def test_nothing_the_code_forks_outlives_the_grade():
    needs_namespaces()
    tag = f"opk{int(time.time() * 1000) % 10**8}"
    run(LINGER.replace("TAG", tag))
    deadline = time.monotonic() + 10
    while _processes_named(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_named(tag)


def _processes_named(tag: str) -> list[str]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == tag:
                found.append(comm.parent.name)
        except OSError:
            pass
    return found


def test_hanging_fails_by_timeout_even_when_the_test_catches_everything():
    tests = "try:\n    add(1, 2)\nexcept BaseException:\n    pass\nassert add(1, 2) == 3\n"
    r = run("import time\ndef add(a, b):\n    time.sleep(60)", tests, timeout=1)
    assert not r.passed and r.score == 0 and r.detail["timed_out"]
    assert r.detail["tests"][0]["error"] == "timed out after 1 s"


def test_hanging_before_the_tests():
    r = run("while True:\n    pass\ndef add(a, b):\n    return a + b", timeout=1)
    assert not r.passed and r.score == 0 and "timed out after 1 s" in r.reason


def test_huge_memory_fails_cleanly():
    r = run("def add(a, b):\n    x = bytearray(64 << 30)\n    return a + b", memory_mb=256)
    assert not r.passed and r.score == 0 and "MemoryError" in r.reason
    r = run("x = ' ' * (64 << 30)\ndef add(a, b):\n    return a + b", memory_mb=256)
    assert not r.passed and "MemoryError" in r.reason


def test_network_is_unreachable_even_around_the_socket_patch():
    needs_namespaces()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        code = f'''
import socket
raw = next(c for c in socket.socket.__mro__ if c.__module__ == "_socket")
def add(a, b):
    s = raw(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", {port}))
    return a + b
'''
        r = run(code)
        assert not r.passed and r.score == 0
        assert "OSError" in r.reason, r.reason   # unreachable, not the patch's PermissionError
        with pytest.raises(BlockingIOError):
            server.accept()


def test_the_code_cannot_write_outside_its_scratch_dir(tmp_path):
    needs_namespaces()
    planted, kept = tmp_path / "planted.txt", tmp_path / "kept.txt"
    kept.write_text("original")
    code = f'''
def add(a, b):
    for path in ({str(planted)!r}, {str(kept)!r}):
        try:
            with open(path, "w") as f:
                f.write("forged")
        except OSError:
            pass
    return a + b
'''
    assert run(code).passed
    assert not planted.exists() and kept.read_text() == "original"


def test_the_code_sees_no_other_process():
    needs_namespaces()
    code = '''
import os
def visible():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
def can_see_parent():
    return os.getppid()
'''
    r = run(code, "assert visible() == [1, 2]\nassert can_see_parent() == 1\n")
    assert r.passed, r.reason


def test_openpicks_bundled_suites_are_hidden_when_installed_under_the_prefix(tmp_path):
    # a regular install puts openpick (bundled suites and their tests included) in
    # site-packages, which the sandbox shows read-only: the package itself must not be visible
    needs_namespaces()
    venv.create(tmp_path / "env", with_pip=False)
    site = next((tmp_path / "env").glob("lib/python*/site-packages"))
    pkg = site / "openpick"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "code.yaml").write_text("assert add(1, 2) == 3\n")
    (pkg / "sandbox.py").write_text(Path(sandbox.__file__).read_text())
    script = (
        "import json, sys\nsys.path.insert(0, sys.argv[1])\nimport sandbox\n"
        "code = 'import glob\\ndef seen():\\n    return glob.glob(%r + \"/**\", recursive=True)'\n"
        "print(json.dumps(sandbox.run_tests(code % sys.argv[1], 'assert seen() == [%r + \"/\"]'"
        " % sys.argv[1])))\n")
    out = subprocess.run([str(tmp_path / "env" / "bin" / "python"), "-c", script, str(pkg)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    result = json.loads(out)
    assert result["results"] and result["results"][0]["ok"], result
