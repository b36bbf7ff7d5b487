"""Catalog filter options shared by `models list`, `models search` and `recommend`."""

from __future__ import annotations

from openpick.catalog import memory
from openpick.catalog.index import Query

MOF_NAMES = {"i": 1, "1": 1, "ii": 2, "2": 2, "iii": 3, "3": 3}


def parse_mof_class(text: str | None) -> int | None:
    if text is None:
        return None
    key = text.strip().lower().removeprefix("class").strip()
    if key not in MOF_NAMES:
        from openpick.errors import InvalidInput

        raise InvalidInput(f"--mof-class must be I, II or III (or 1-3), got {text!r}")
    return MOF_NAMES[key]


def make_query(text, task, domain, language, license, mof_class, params, fits, quant, ctx,
               base, sort, limit) -> Query:
    return Query(
        text=text or None,
        tasks=list(task or []),
        domains=list(domain or []),
        languages=list(language or []),
        license=license,
        mof_class=parse_mof_class(mof_class),
        params=memory.parse_param_range(params) if params else None,
        fits_bytes=memory.parse_bytes(fits) if fits else None,
        quant=quant,
        context=ctx,
        base=base,
        sort=sort,
        limit=limit,
    )
