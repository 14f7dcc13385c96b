"""Grouping requests by endpoint and rendering the summaries as a text table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from latency.logparse import Request
from latency.stats import Summary, summarize

_COLUMNS = ("endpoint", "count", "errors", "mean", "p50", "p95", "max")


def summaries(requests: Iterable[Request], endpoints: Sequence[str] = ()) -> list[Summary]:
    """One summary per endpoint seen in ``requests``, plus one for each of ``endpoints``.

    ``endpoints`` lists the endpoints a report must always show, even with no traffic.
    The result is sorted by endpoint.
    """
    grouped: dict[str, list[Request]] = defaultdict(list)
    for endpoint in endpoints:
        grouped[endpoint] = []
    for request in requests:
        grouped[request.endpoint].append(request)
    return [summarize(endpoint, grouped[endpoint]) for endpoint in sorted(grouped)]


def render(rows: Sequence[Summary]) -> str:
    """A fixed-width table, one line per summary; missing figures print as ``-``."""
    cells = [list(_COLUMNS)]
    for row in rows:
        cells.append(
            [
                row.endpoint,
                str(row.count),
                f"{row.error_rate:.0%}",
                _ms(row.mean_ms),
                _ms(row.p50_ms),
                _ms(row.p95_ms),
                _ms(row.max_ms),
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = []
    for line in cells:
        first = line[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
