"""Tags of one file: its definitions (with signature lines) and the names it references.

Plain values, stored per blob in the cache (``to_data`` / ``from_data`` for ``marshal``);
``parse.extract`` makes them from source.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Definition(NamedTuple):
    name: str
    kind: str
    """``class``, ``function``, ``method``, ``interface``, ``enum``, ``type``, ``constant``, …"""
    line: int
    """First line, 1-based."""
    end_line: int
    signature: str
    """The header of the definition on one line, e.g. ``def add(a, b) -> int:``."""
    parent: int
    """Index of the enclosing definition in the file's list, or -1."""


class FileTags(NamedTuple):
    language: str
    definitions: tuple[Definition, ...]
    references: dict[str, tuple[int, ...]]
    """Name -> the lines it is referenced on."""
    has_errors: bool = False

    def to_data(self) -> tuple[Any, ...]:
        """Plain tuples for ``marshal`` (the on-disk cache)."""
        defs = tuple(
            (d.name, d.kind, d.line, d.end_line, d.signature, d.parent) for d in self.definitions
        )
        return (self.language, defs, self.references, self.has_errors)

    @classmethod
    def from_data(cls, data: tuple[Any, ...]) -> FileTags:
        language, defs, refs, errors = data
        return cls(language, tuple(Definition(*d) for d in defs), refs, errors)
