"""``Hint``: what the failure says, to steer the operators (all of it optional)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_EXCEPTION = re.compile(
    r"\b((?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)|StopIteration)\b"
)
_QUOTED = re.compile(r"""'((?:[^'\\\n]|\\.){0,80})'|"((?:[^"\\\n]|\\.){0,80})\"""")
_NAME_PATTERNS = (
    re.compile(r"has no attribute '(\w+)'"),
    re.compile(r"name '(\w+)' is not defined"),
    re.compile(r"argument '(\w+)'"),
    re.compile(r"keyword argument '(\w+)'"),
)
_VALUE_LINES = re.compile(r"^.*\b(?:assert|KeyError)\b.*$", re.MULTILINE)
"""Lines whose quoted strings are values (an assertion's operands, a missing key), not the
type and attribute names other messages quote."""
_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Hint:
    """Evidence from the failing test, most relevant first in each field."""

    exceptions: tuple[str, ...] = ()
    """Exception class names (unqualified) raised or expected: ``KeyError``, ``TypeError``."""
    names: tuple[str, ...] = ()
    """Identifiers the failure names: a missing attribute, an undefined name."""
    strings: tuple[str, ...] = ()
    """String values of the failure: an assertion's operands, a missing key."""

    @classmethod
    def from_failure(cls, text: str) -> Hint:
        """Read a failure message or traceback (pytest's ``E`` lines, a bare exception line)."""
        exceptions = _unique(m.rsplit(".", 1)[-1] for m in _EXCEPTION.findall(text))
        names = _unique(m.group(1) for p in _NAME_PATTERNS for m in p.finditer(text))
        strings = _unique(
            _unescape(m.group(1) if m.group(1) is not None else m.group(2))
            for line in _VALUE_LINES.findall(text)
            for m in _QUOTED.finditer(line)
        )
        return cls(exceptions, names, strings)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item)
    return tuple(seen)[:_LIMIT]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
