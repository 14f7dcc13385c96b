"""Parsing changelog text into releases.

The format, newest release first::

    # Changelog
    Free text above the first release is ignored.

    ## [Unreleased]
    ### Added
    - A change, which may continue
      on indented lines.

    ## [1.0.0] - 2024-01-31
    ### Fixed
    - Another change.
"""

from __future__ import annotations

import datetime as dt
import re

from changelog.model import KINDS, UNRELEASED, Change, ChangelogError, Release

_RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\](?:\s+-\s+(?P<date>\S+))?\s*$")
_SECTION = re.compile(r"^### (?P<kind>\w+)\s*$")
_BULLET = re.compile(r"^[-*] (?P<text>.+)$")
_CONTINUATION = re.compile(r"^\s{2,}(?P<text>\S.*)$")


def parse(text: str) -> list[Release]:
    """The releases of ``text`` in file order (newest first).

    Raises ChangelogError for a bullet outside a ``###`` section, an unknown section kind,
    a release without a valid date (other than ``[Unreleased]``) or any other stray line.
    """
    releases: list[Release] = []
    version: str | None = None
    date: dt.date | None = None
    kind: str | None = None
    changes: list[Change] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if heading := _RELEASE.match(line):
            if version is not None:
                releases.append(Release(version, date, tuple(changes)))
            version = heading["version"]
            date = _release_date(number, version, heading["date"])
            kind = None
            continue
        if version is None:
            continue
        if section := _SECTION.match(line):
            kind = _kind(number, section["kind"])
        elif bullet := _BULLET.match(line):
            if kind is None:
                raise ChangelogError(number, "change listed outside a ### section")
            changes.append(Change(kind, bullet["text"].strip()))
        elif (more := _CONTINUATION.match(line)) and changes:
            last = changes[-1]
            changes[-1] = Change(last.kind, f"{last.text} {more['text'].strip()}")
        else:
            raise ChangelogError(number, f"unexpected line {line.strip()!r}")
    return releases


def _release_date(number: int, version: str, text: str | None) -> dt.date | None:
    if version == UNRELEASED:
        return None
    if text is None:
        raise ChangelogError(number, f"release {version} has no date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ChangelogError(number, f"release {version}: bad date {text!r}") from None


def _kind(number: int, word: str) -> str:
    kind = word.lower()
    if kind not in KINDS:
        raise ChangelogError(number, f"unknown section {word!r}; expected one of {KINDS}")
    return kind
