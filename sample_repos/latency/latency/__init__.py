"""Latency percentiles per endpoint, read from access logs."""

from latency.logparse import Request, parse_line, parse_log
from latency.stats import Summary, percentile, summarize
from latency.table import render, summaries

__all__ = [
    "Request",
    "Summary",
    "parse_line",
    "parse_log",
    "percentile",
    "render",
    "summaries",
    "summarize",
]
