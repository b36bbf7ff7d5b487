"""Recommendations: hard constraints filter, a transparent score ranks, reasons explain."""

from openpick.recommend.ranking import Constraints, Recommendation, recommend

__all__ = ["Constraints", "Recommendation", "recommend"]
