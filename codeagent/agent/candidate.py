"""``Candidate``: one proposed fix, a whole new text for one file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    path: str
    """The file it changes, relative to the work copy's root."""
    new_source: str
    """The file's whole text after the change."""
    line: int
    """The (first) line it changes, 1-based, in the original text."""
    operator: str
    """Where it came from: a repair operator's name (``binary_operator``, ``off_by_one``, …) or
    ``model``."""
    description: str
    """One line for people and for the model, e.g. ``line 12: '<' -> '<='``."""
    size: int = 1
    """How much it changes (tokens, roughly): smaller fixes are tried first among equals."""
