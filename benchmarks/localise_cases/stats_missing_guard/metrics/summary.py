"""Summaries of a series of measurements."""

from __future__ import annotations

import math
from collections.abc import Sequence


def total(values: Sequence[float]) -> float:
    return math.fsum(values)


def average(values: Sequence[float]) -> float:
    """The arithmetic mean; 0.0 for no values."""
    count = len(values)
    return total(values) / count


def spread(values: Sequence[float]) -> float:
    """Largest minus smallest; 0.0 for no values."""
    if not values:
        return 0.0
    return max(values) - min(values)


def describe(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": float(len(values)),
        "total": total(values),
        "mean": average(values),
        "spread": spread(values),
    }
