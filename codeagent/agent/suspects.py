"""``Suspect``: a line of the work copy that may hold the bug, ranked by the localiser."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Suspect:
    path: str
    """Relative to the work copy's root, ``/`` separators."""
    line: int
    """1-based."""
    score: float
    """Higher is more suspicious; comparable within one localisation only."""
    reasons: tuple[str, ...] = ()
    """Why, briefly (``ochiai 0.71``, ``raised here``, ``signature of a function on the trace``)
    for reports and for the model."""
