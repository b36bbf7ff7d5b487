"""ModelRecord: one open model's facts, in Hugging Face model-card field names.

Records are data (YAML files validated here), never Python literals. `extra="forbid"`
everywhere so a typo in a data file is an error, not a silently ignored field.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Relation = Literal["finetune", "adapter", "quantized", "merge"]
Presence = Literal["met", "partial", "not_met"]
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_LANG = re.compile(r"^[a-z]{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Component(_Strict):
    """One MOF component of a release: is it published, under which license, where.

    `license` None means "not stated for this component" (the MOF then falls back to the
    release license for the content type, then the distribution license); the literal
    string "unlicensed" means published without any license.
    """

    present: bool = True
    license: str | None = None
    link: str | None = None


class ReleaseLicenses(_Strict):
    """The MOF release-level licenses, used when a component states none."""

    distribution: str | None = None
    code: str | None = None
    data: str | None = None
    document: str | None = None


class Evaluation(_Strict):
    benchmark: str
    metric: str = "accuracy"
    value: float
    source: str  # a URL or a citation: where the number was published


class Price(_Strict):
    provider: str
    usd_per_1m_input: float = Field(ge=0)
    usd_per_1m_output: float = Field(ge=0)
    as_of: str
    source: str | None = None


class Artifact(_Strict):
    """A concrete file or package that holds the weights."""

    kind: Literal["gguf", "safetensors", "package", "pickle"] = "gguf"
    package: str | None = None
    path: str | None = None
    quantization: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None


class OsaiGrade(_Strict):
    """One parameter of the European Open Source AI Index: open / partial / closed."""

    grade: Literal["open", "partial", "closed"]
    link: str | None = None


class Conflict(_Strict):
    """Two sources disagreed on a field; both values are kept with their source."""

    field: str
    values: dict[str, str]  # source → value (as text)


class ModelRecord(_Strict):
    id: str = Field(description="org/name as on Hugging Face")
    name: str
    developer: str
    family: str | None = None
    description: str | None = None
    base_model: list[str] = Field(default_factory=list)
    base_model_relation: Relation | None = None
    pipeline_tag: str | None = "text-generation"
    tasks: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    license: str = Field(description="SPDX id or a named custom license id")
    license_original: str | None = Field(default=None, description="the license string as the source wrote it")
    parameters: int | None = Field(default=None, ge=0)
    active_parameters: int | None = Field(default=None, ge=0)
    architecture: str | None = None
    features: list[str] = Field(default_factory=list)
    context_length: int | None = Field(default=None, ge=0)
    release_date: str | None = None
    links: dict[str, str] = Field(default_factory=dict)
    release_licenses: ReleaseLicenses = Field(default_factory=ReleaseLicenses)
    components: dict[str, Component] = Field(default_factory=dict)
    osai: dict[str, OsaiGrade] = Field(default_factory=dict)
    evaluations: list[Evaluation] = Field(default_factory=list)
    prices: list[Price] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError(f"id must look like 'org/name', got {v!r}")
        return v

    @field_validator("release_date", mode="before")
    @classmethod
    def _date_shape(cls, v: object) -> str | None:
        # YAML turns 2024-02-01 into a date object; keep the text form.
        if v is not None and not _DATE.match(str(v)):
            raise ValueError(f"release_date must be YYYY, YYYY-MM or YYYY-MM-DD, got {v!r}")
        return None if v is None else str(v)

    @field_validator("languages")
    @classmethod
    def _iso639(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if not _LANG.match(x)]
        if bad:
            raise ValueError(f"languages must be ISO 639-1 codes, got {bad}")
        return v

    @property
    def org(self) -> str:
        return self.id.split("/")[0]
