"""Read CHANGELOG.md files in the Keep a Changelog format (https://keepachangelog.com)."""

from changelog.model import KINDS, Change, ChangelogError, Release
from changelog.parser import parse
from changelog.query import find, latest, notes_since

__all__ = [
    "KINDS",
    "Change",
    "ChangelogError",
    "Release",
    "find",
    "latest",
    "notes_since",
    "parse",
]
