"""Questions about parsed releases: the latest one, one by version, notes since a version."""

from __future__ import annotations

from collections.abc import Sequence

from changelog.model import KINDS, Release
from changelog.version import version_key


def latest(releases: Sequence[Release]) -> Release | None:
    """The highest released version, skipping ``[Unreleased]``; None when there is none."""
    released = [release for release in releases if release.released]
    if not released:
        return None
    return max(released, key=lambda release: version_key(release.version))


def find(releases: Sequence[Release], version: str) -> Release:
    """The release of ``version`` (``1.2`` finds ``1.2.0``); KeyError when it is not there."""
    wanted = version_key(version)
    for release in releases:
        if release.released and version_key(release.version) == wanted:
            return release
    raise KeyError(version)


def notes_since(releases: Sequence[Release], version: str) -> str:
    """Markdown release notes for every release newer than ``version``, newest first.

    Changes are grouped by kind in ``KINDS`` order; kinds without changes are left out.
    """
    floor = version_key(version)
    newer = [
        release for release in releases if release.released and version_key(release.version) > floor
    ]
    newer.sort(key=lambda release: version_key(release.version), reverse=True)
    lines: list[str] = []
    for release in newer:
        lines.append(f"## {release.version} ({release.date})")
        for kind in KINDS:
            texts = release.of_kind(kind)
            if texts:
                lines.append(f"### {kind.capitalize()}")
                lines.extend(f"- {text}" for text in texts)
        lines.append("")
    return "\n".join(lines).rstrip("\n")
