"""Shared helpers for runner tests: suite items without a YAML file and scripted engines."""

from __future__ import annotations

import threading
import time

from openpick.engines.base import EngineError, Sampling
from openpick.engines.fake import FakeEngine
from openpick.engines.pool import ModelPool
from openpick.engines.spec import load_engine
from openpick.evals.assertions import parse_assertion
from openpick.evals.suite import Suite as RealSuite
from openpick.evals.suite import SuiteItem


def Item(case_id: str, prompt: str | None = None, messages: list[dict] | None = None, *,
         variant: str = "default", tags: list[str] | None = None, assertions: list | None = None,
         max_tokens: int = 32, temperature: float = 0.0, stop: list[str] | None = None,
         threshold: float | None = None) -> SuiteItem:
    """A real suite item, written in Python instead of YAML."""
    return SuiteItem(case_id=case_id, variant=variant, messages=messages, prompt=prompt,
                     sampling=Sampling(max_tokens=max_tokens, temperature=temperature,
                                       stop=stop or []),
                     assertions=list(assertions or []), tags=list(tags or []),
                     threshold=threshold)


def Suite(its: list[SuiteItem], name: str = "t") -> RealSuite:
    return RealSuite.of(its, name)


def items(n: int = 4) -> list[Item]:
    """Echo-friendly cases: the fake model repeats the prompt, so 'pass' cases pass."""
    out = []
    for i in range(n):
        word = "pass" if i % 2 == 0 else "fail"
        out.append(Item(case_id=f"c{i}", prompt=f"answer {word} {i}", tags=["t"],
                        assertions=[parse_assertion({"icontains": "pass"})]))
    return out


class ScriptedEngine(FakeEngine):
    """Echoes; raises EngineError on prompts containing 'boom' (or the first `flaky` calls),
    can sleep per case, and counts calls across instances via a shared dict."""

    counter: dict = {}
    lock = threading.Lock()

    def generate(self, request):
        text = request.prompt or request.messages[-1].content
        with ScriptedEngine.lock:
            ScriptedEngine.counter[self.display_name] = ScriptedEngine.counter.get(
                self.display_name, 0) + 1
            n = ScriptedEngine.counter[self.display_name]
        delay = float(getattr(self, "delay", 0))
        if delay:
            time.sleep(delay)
        if "boom" in text:
            raise EngineError("engine exploded on purpose")
        if "flaky" in text and ScriptedEngine.flaky_left.get(text, 0) > 0:
            ScriptedEngine.flaky_left[text] -= 1
            raise EngineError("temporary failure")
        del n
        yield from super().generate(request)

    flaky_left: dict = {}


def scripted_pool(delay: float = 0.0) -> ModelPool:
    def loader(spec: str, options: dict):
        if spec.startswith("fake:"):
            eng = ScriptedEngine(spec.split(":", 1)[1], options, display_name=spec)
            eng.delay = delay
            return eng
        return load_engine(spec, options)
    return ModelPool(loader=loader)


def calls(name: str) -> int:
    return ScriptedEngine.counter.get(name, 0)


def reset_calls() -> None:
    ScriptedEngine.counter.clear()
    ScriptedEngine.flaky_left.clear()
