"""Reading access-log lines of the form ``<time> <method> <path> <status> <duration>ms``.

Example: ``2024-05-02T10:00:03Z GET /api/items?page=2 200 35.2ms``. The query string is not
part of the endpoint. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LINE = re.compile(
    r"^(?P<time>\S+)\s+(?P<method>[A-Z]+)\s+(?P<path>\S+)\s+(?P<status>\d{3})\s+"
    r"(?P<ms>\d+(?:\.\d+)?)ms$"
)


@dataclass(frozen=True)
class Request:
    """One logged request."""

    time: str
    method: str
    endpoint: str
    status: int
    ms: float

    @property
    def failed(self) -> bool:
        """True for server errors (5xx); client errors are the client's problem."""
        return self.status >= 500


def parse_line(line: str) -> Request:
    """The request ``line`` records; ValueError when it is not an access-log line."""
    match = _LINE.match(line.strip())
    if match is None:
        raise ValueError(f"not an access-log line: {line!r}")
    return Request(
        time=match["time"],
        method=match["method"],
        endpoint=match["path"].split("?", 1)[0],
        status=int(match["status"]),
        ms=float(match["ms"]),
    )


def parse_log(lines: Iterable[str]) -> Iterator[Request]:
    """The requests of a whole log, skipping blank lines and ``#`` comments."""
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            yield parse_line(line)
