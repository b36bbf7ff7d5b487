"""What a run records about each model besides its answers: catalog facts (license, MOF
class) and prices. The runner asks a `ModelResolver`; the default one reads the bundled
catalog and the run's price options, and a caller (a server with its own price list, a
test) can hand in another."""

from __future__ import annotations

from typing import Any, Protocol

from openpick.engines.base import Result
from openpick.engines.spec import ModelSpec
from openpick.store.records import ModelInfo


class ModelResolver(Protocol):
    def info(self, name: str, spec: ModelSpec) -> ModelInfo: ...


class CatalogResolver:
    """Prices by precedence: the user's (`--price`), the model's config, the catalog
    record's first provider, else machine time (`--machine-usd-per-hour`)."""

    def __init__(self, prices: dict[str, tuple[float, float]] | None = None,
                 machine_usd_per_hour: float | None = None):
        self.prices = prices or {}
        self.machine_usd_per_hour = machine_usd_per_hour

    def info(self, name: str, spec: ModelSpec) -> ModelInfo:
        rec, license_, mof = catalog_facts(spec.record_id)
        price_in = price_out = source = machine = None
        if name in self.prices:
            (price_in, price_out), source = self.prices[name], "user"
        elif spec.price is not None:
            price_in, price_out = spec.price.usd_per_1m_input, spec.price.usd_per_1m_output
            source = "config"
        elif rec is not None and rec.prices:
            p = rec.prices[0]
            price_in, price_out = p.usd_per_1m_input, p.usd_per_1m_output
            source = f"catalog:{p.provider}"
        elif self.machine_usd_per_hour is not None:
            machine = self.machine_usd_per_hour
            source = f"machine:{machine:g}"
        target = spec.target if spec.target is not None else (spec.embedded or "")
        return ModelInfo(name=name, spec=f"{spec.engine}:{target}", engine=spec.engine,
                         record_id=spec.record_id, license=license_, mof_class=mof,
                         usd_per_1m_input=price_in, usd_per_1m_output=price_out,
                         price_source=source, machine_usd_per_hour=machine)


def catalog_facts(record_id: str | None) -> tuple[Any, str | None, int | None]:
    """(record, license, MOF class) from the catalog; Nones when unknown."""
    if not record_id:
        return None, None, None
    try:
        from openpick.catalog.catalog import get_record
        from openpick.openness.mof import evaluate

        rec = get_record(record_id)
        return rec, rec.license, evaluate(rec).mof_class
    except Exception:  # noqa: BLE001 - catalog facts are decoration, never a reason to fail
        return None, None, None


def case_cost(info: ModelInfo, result: Result) -> float | None:
    """What one answer cost: by tokens at the model's prices, else by machine time."""
    if info.usd_per_1m_input is not None and info.usd_per_1m_output is not None:
        return ((result.usage.prompt_tokens or 0) * info.usd_per_1m_input
                + result.usage.completion_tokens * info.usd_per_1m_output) / 1e6
    if info.machine_usd_per_hour is not None:
        return info.machine_usd_per_hour * result.timings.total_s / 3600
    return None
