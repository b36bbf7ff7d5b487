"""What a found model is: its quantization and the catalog record it matches.

The engines layer may not import the catalog (DESIGN layers), so what describing needs
from it, the catalog's ids and its GGUF header reader, comes from above as `CatalogFacts`
(the CLI registers them: cli/local.py). GGUF facts come from the file's header through the
catalog's GGUF importer (the header summary is cached per file; weights are never read).
Without facts, a model keeps what its store and file name say. A record matches, in order, by
the repository id the store knows (`bartowski/Llama-3.2-1B-Instruct-GGUF` is looked up
as itself, then without its `-GGUF` suffix), then by the id the GGUF importer derives from
the header's `general.*` keys (`general.source.url`, or organization + basename + size
label + finetune), then by `general.name`, then by the file name without its quantization.
Ids match case-insensitively, or by their name part alone when that part is unique.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openpick.engines.discover.stores import Found, Warn
from openpick.errors import OpenpickError

# Quantization names as they appear in file names: Q4_K_M, IQ2_XXS, Q8_0, BF16, F16, MXFP4...
_QUANT = re.compile(r"(?:^|[-._])((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|FP16|F32|MXFP4)(?=$|[-._])",
                    re.IGNORECASE)
_GGUF_SUFFIX = re.compile(r"[-_.]gguf$", re.IGNORECASE)


def quant_from_name(name: str) -> str | None:
    hits = _QUANT.findall(name)
    return hits[-1].upper() if hits else None


@dataclass
class CatalogFacts:
    """The catalog's record ids and names, and its GGUF header functions."""

    ids: list[str]
    names: dict[str, str]  # record name → id
    read_header: Callable[[Path], dict]  # a header summary; OpenpickError when unreadable
    quantization_name: Callable[[int | None], str | None]  # general.file_type → 'Q4_K_M'
    header_id: Callable[[dict, Path], str | None]  # the record id the GGUF importer derives
    by_id: dict[str, str] = field(init=False)
    by_part: dict[str, str] = field(init=False)
    by_name: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {i.lower(): i for i in self.ids}
        parts: dict[str, list[str]] = {}
        for i in self.ids:
            parts.setdefault(i.split("/")[-1].lower(), []).append(i)
        self.by_part = {k: v[0] for k, v in parts.items() if len(v) == 1}
        self.by_name = {k.lower(): v for k, v in self.names.items()}

    def match_id(self, rid: str | None) -> str | None:
        if not rid:
            return None
        for candidate in (rid, _GGUF_SUFFIX.sub("", rid)):
            low = candidate.lower()
            if low in self.by_id:
                return self.by_id[low]
            if low.split("/")[-1] in self.by_part:
                return self.by_part[low.split("/")[-1]]
        return None

    def match_name(self, name: str | None) -> str | None:
        if not name:
            return None
        return self.by_name.get(name.lower()) or self.by_part.get(name.lower())


def _strip_quant(stem: str) -> str:
    q = quant_from_name(stem)
    return re.sub(rf"[-._]{re.escape(q)}$", "", stem, flags=re.IGNORECASE) if q else stem


def describe_gguf(found: Found, facts: CatalogFacts | None, warn: Warn) -> Found | None:
    """`found` with quantization and record filled in; None (and a warning) when the file
    is not a readable GGUF model."""
    path = Path(found.target)
    if facts is None:
        return found.model_copy(update={"quantization": found.quantization
                                        or quant_from_name(path.name)})
    try:
        header = facts.read_header(path)
    except OpenpickError as e:
        warn.append(f"{found.name}: skipped, {e}")
        return None
    quant = (found.quantization or facts.quantization_name(header.get("general.file_type"))
             or quant_from_name(path.name))
    stem = _strip_quant(found.name.rsplit("/", 1)[-1])
    record = (facts.match_id(found.repo) or facts.match_id(facts.header_id(header, path))
              or facts.match_name(header.get("general.name")) or facts.match_name(stem))
    return found.model_copy(update={"quantization": quant, "record_id": record})


def describe_folder(found: Found, facts: CatalogFacts | None, warn: Warn) -> Found | None:
    """A transformers folder: its config.json states the quantization or dtype."""
    try:
        config = json.loads((Path(found.target) / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        warn.append(f"{found.name}: skipped, unreadable config.json ({type(e).__name__})")
        return None
    if not isinstance(config, dict):
        warn.append(f"{found.name}: skipped, config.json is not a JSON object")
        return None
    qc = config.get("quantization_config")
    quant = (qc.get("quant_method") if isinstance(qc, dict) else None) or config.get("torch_dtype") \
        or config.get("dtype")
    name = config.get("_name_or_path")
    record = None
    if facts is not None:
        record = (facts.match_id(found.repo) or facts.match_id(name if isinstance(name, str) else None)
                  or facts.match_name(found.name.rsplit("/", 1)[-1]))
    return found.model_copy(update={"quantization": quant if isinstance(quant, str) else None,
                                    "record_id": record})


def describe(found: Found, facts: CatalogFacts | None, warn: Warn) -> Found | None:
    if found.format == "gguf":
        return describe_gguf(found, facts, warn)
    if found.format == "safetensors":
        return describe_folder(found, facts, warn)
    return found
