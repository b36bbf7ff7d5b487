"""`openpick demo`: the main job `make demo` runs."""

from __future__ import annotations
