"""What a changelog holds: releases, each with its changes grouped by kind."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("added", "changed", "deprecated", "removed", "fixed", "security")
UNRELEASED = "Unreleased"


class ChangelogError(ValueError):
    """The text is not a changelog this package understands; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Change:
    """One bullet of a release: its kind (one of ``KINDS``) and its text on one line."""

    kind: str
    text: str


@dataclass(frozen=True)
class Release:
    """One ``## [version] - date`` section. The unreleased section has no date."""

    version: str
    date: dt.date | None
    changes: tuple[Change, ...]

    @property
    def released(self) -> bool:
        """False for the ``[Unreleased]`` section."""
        return self.version != UNRELEASED

    def of_kind(self, kind: str) -> list[str]:
        """The texts of the changes of ``kind``, in file order."""
        return [change.text for change in self.changes if change.kind == kind]
