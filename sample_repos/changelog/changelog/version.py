"""Ordering version strings like ``1.10.0`` and ``2.0.0rc1`` the way people read them."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(?P<release>\d+(?:\.\d+)*)(?:(?P<tag>a|b|rc)(?P<serial>\d+))?$")
_TAGS = {"a": 0, "b": 1, "rc": 2}
_FINAL = 3


def version_key(version: str) -> tuple[tuple[int, ...], int, int]:
    """A sort key: numeric parts compared as numbers, pre-releases before the release.

    Trailing zeros do not matter (``1.2`` == ``1.2.0``). Raises ValueError for other text.
    """
    match = _VERSION.match(version.strip())
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    parts = [int(part) for part in match["release"].split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    if match["tag"] is None:
        return (tuple(parts), _FINAL, 0)
    return (tuple(parts), _TAGS[match["tag"]], int(match["serial"]))
