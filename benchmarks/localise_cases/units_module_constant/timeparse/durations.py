"""Parse human durations such as ``1h30m`` or ``45s`` into seconds."""

from __future__ import annotations

import re

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 360
SECONDS_PER_DAY = 24 * 60 * 60

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {
    "d": SECONDS_PER_DAY,
    "h": SECONDS_PER_HOUR,
    "m": SECONDS_PER_MINUTE,
    "s": 1,
}


def parse(text: str) -> int:
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    parts = _PART.findall(text)
    if "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def format_seconds(seconds: int) -> str:
    minutes, secs = divmod(seconds, SECONDS_PER_MINUTE)
    return f"{minutes}m{secs:02d}s"
