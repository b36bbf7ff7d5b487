"""Recommendations: hard constraints filter, a transparent score ranks, reasons explain.

The package is callable, `openpick.recommend(task="chat", limit=3)`: the library API's
`recommend` and this package share a name, and importing the package would otherwise
replace the function on `openpick`.
"""

import sys
import types

from openpick.recommend.ranking import Constraints, Recommendation, recommend

__all__ = ["Constraints", "Recommendation", "recommend"]


class _CallablePackage(types.ModuleType):
    def __call__(self, constraints: Constraints | None = None, **fields) -> list[Recommendation]:
        """Ranked picks from a Constraints, or its fields as keywords (task, domain,
        language, license, fits, quant, context, min_mof_class, params, limit)."""
        return recommend(constraints if constraints is not None else Constraints(**fields))


sys.modules[__name__].__class__ = _CallablePackage
