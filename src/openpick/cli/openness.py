"""`openpick openness ID`: the full openness explanation for one model."""

from __future__ import annotations
