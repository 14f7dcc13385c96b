"""Reading and writing ranges as text: ``2024-03-01..2024-03-05`` or a single ``2024-03-01``."""

from __future__ import annotations

import datetime as dt

from daterange.span import DateRange

SEPARATOR = ".."


def parse_range(text: str) -> DateRange:
    """The range that ``text`` names.

    ``text`` is either one ISO date (a one-day range) or two ISO dates joined by ``..``;
    whitespace around the parts is ignored. Raises ValueError for anything else.
    """
    parts = [part.strip() for part in text.split(SEPARATOR)]
    if len(parts) == 1:
        return DateRange.single(_date(parts[0]))
    if len(parts) == 2:
        return DateRange(_date(parts[0]), _date(parts[1]))
    raise ValueError(f"not a date range: {text!r}")


def format_range(value: DateRange) -> str:
    """The text ``parse_range`` reads back as ``value``; one-day ranges print as one date."""
    if value.start == value.end:
        return value.start.isoformat()
    return f"{value.start.isoformat()}{SEPARATOR}{value.end.isoformat()}"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date: {text!r}") from None
