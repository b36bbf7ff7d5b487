"""Reports of a run: a terminal leaderboard, one self-contained HTML file, JSON and CSV.

Every report reads the same `RunReport` (openpick.evals.summary) and formats its numbers
with openpick.evals.display, re-exported here.
"""

from __future__ import annotations

from openpick.evals.display import MOF_NAMES, bytes_, interval, mof, money, pct, rate, seconds

__all__ = ["MOF_NAMES", "bytes_", "interval", "mof", "money", "pct", "rate", "seconds"]
