"""Run open models: one contract (`Engine.generate`) over llama.cpp, transformers and
OpenAI-compatible servers. Heavy runtimes are imported inside the engines, on first use."""

from openpick.engines.base import (
    ContextOverflow, Delta, Engine, EngineError, EngineOptions, Message, ModelIdentity, Request,
    Result, Sampling, Stream, Timings, Usage,
)
from openpick.engines.spec import ModelSpec, load_engine, parse_spec

__all__ = [
    "ContextOverflow", "Delta", "Engine", "EngineError", "EngineOptions", "Message",
    "ModelIdentity", "ModelSpec", "Request", "Result", "Sampling", "Stream", "Timings", "Usage",
    "load_engine", "parse_spec",
]
