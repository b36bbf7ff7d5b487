"""The records that flow from the runner through the store into reports.

This module is the contract between `evals.runner` / `store.runs` (which produce and
persist these) and `evals.summary` / `report.*` (which only read them). Keep it free of
behaviour so both sides can be built and tested independently.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssertionResult(_Base):
    """One assertion applied to one output."""

    type: str                      # e.g. "icontains", "not-regex", "is-json", "judge"
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    weight: float = 1.0
    reason: str = ""               # why it failed (or passed), in plain words
    detail: dict[str, Any] | None = None  # e.g. a judge's reasoning, code test stderr


class Grade(_Base):
    """All assertions of a case on one output: weighted score and pass/fail."""

    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    threshold: float | None = None
    assertions: list[AssertionResult] = Field(default_factory=list)


class ModelInfo(_Base):
    """A model as it took part in a run (facts copied in, so old runs stay readable)."""

    name: str                      # what the user typed / display name, unique in a run
    spec: str                      # resolved spec, e.g. "llama-cpp:/path/model.gguf"
    engine: str
    identity: dict[str, Any] = Field(default_factory=dict)  # ModelIdentity dump (sha256, url, ...)
    record_id: str | None = None   # catalog id where known
    license: str | None = None
    mof_class: int | None = None
    usd_per_1m_input: float | None = None
    usd_per_1m_output: float | None = None
    price_source: str | None = None  # "catalog:<provider>", "user", "machine:<usd/h>"
    machine_usd_per_hour: float | None = None


class CaseResult(_Base):
    """One model's answer to one case (one prompt variant, one repeat)."""

    run_id: str
    model: str                     # ModelInfo.name
    case_id: str
    variant: str = "default"       # prompt variant id
    repeat: int = 0
    tags: list[str] = Field(default_factory=list)
    input: list[dict[str, str]] | str  # rendered messages, or a plain prompt
    output: str | None = None
    error: str | None = None       # engine error/timeout: recorded, never cached
    grade: Grade | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    decode_tok_s: float | None = None
    threads: int | None = None     # CPU threads the engine decoded with
    parallel: int | None = None    # most sequences decoded together in its batch
    peak_rss_bytes: int | None = None
    seed: int | None = None
    cached: bool = False
    created_at: str | None = None

    @property
    def passed(self) -> bool | None:
        return None if self.grade is None else self.grade.passed

    @property
    def score(self) -> float | None:
        return None if self.grade is None else self.grade.score


class RunInfo(_Base):
    id: str
    suite: str                     # suite name
    suite_path: str | None = None
    suite_hash: str | None = None
    created_at: str
    finished_at: str | None = None
    status: Literal["running", "finished", "interrupted", "failed"] = "running"
    models: list[ModelInfo] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)  # repeats, seed, concurrency, ...
    planned: int = 0               # models × cases × variants × repeats
