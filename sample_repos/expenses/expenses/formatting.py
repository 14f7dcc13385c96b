"""Turning numbers into the text reports show: money, percentages, month names, columns."""

from __future__ import annotations

import calendar
from collections.abc import Sequence


def format_money(cents: int, symbol: str = "$") -> str:
    """``cents`` as money: 123456 -> ``$1,234.56``, -250 -> ``-$2.50``."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{symbol}{units:,}.{rest}"


def format_share(part: int, whole: int) -> str:
    """``part`` as a whole-number percentage of ``whole``; ``-`` when ``whole`` is zero."""
    if whole == 0:
        return "-"
    return f"{round(100 * part / whole)}%"


def format_month(year: int, month: int) -> str:
    """The month as a heading, e.g. ``March 2024``."""
    return f"{calendar.month_name[month]} {year}"


def columns(rows: Sequence[Sequence[str]], gap: int = 2) -> list[str]:
    """``rows`` laid out as a table: the first column left-aligned, the others right-aligned."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append((" " * gap).join(cells).rstrip())
    return lines
