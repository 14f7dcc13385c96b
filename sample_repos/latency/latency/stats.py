"""Percentiles and per-endpoint summaries of request durations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

from latency.logparse import Request


@dataclass(frozen=True)
class Summary:
    """Latency figures for one endpoint. The duration figures are None when it got no requests."""

    endpoint: str
    count: int
    errors: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None

    @property
    def error_rate(self) -> float:
        """The share of requests that failed, 0.0 when there were none."""
        return self.errors / self.count if self.count else 0.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of ``values`` by the nearest-rank method, None for no values.

    ``p`` is in (0, 100]; the result is always one of ``values``.
    """
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def summarize(endpoint: str, requests: Sequence[Request]) -> Summary:
    """The summary of ``requests`` (all to ``endpoint``); any of them may have failed."""
    durations = [request.ms for request in requests]
    return Summary(
        endpoint=endpoint,
        count=len(durations),
        errors=sum(1 for request in requests if request.failed),
        mean_ms=fmean(durations) if durations else None,
        p50_ms=percentile(durations, 50),
        p95_ms=percentile(durations, 95),
        max_ms=max(durations, default=None),
    )
