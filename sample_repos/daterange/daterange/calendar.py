"""Working with many ranges at once: merging bookings, finding free days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from daterange.span import DateRange


def merge(ranges: Iterable[DateRange]) -> list[DateRange]:
    """The fewest ranges covering exactly the days of ``ranges``, sorted.

    Ranges that overlap or touch (one ends the day before the next begins) become one.
    """
    merged: list[DateRange] = []
    for current in sorted(ranges):
        if merged and (merged[-1].overlaps(current) or merged[-1].touches(current)):
            merged[-1] = merged[-1].span(current)
        else:
            merged.append(current)
    return merged


def free_days(booked: Iterable[DateRange], within: DateRange) -> list[dt.date]:
    """The days of ``within`` that no range of ``booked`` holds, in order."""
    taken = [booking for booking in booked if booking.overlaps(within)]
    return [day for day in within if not any(day in booking for booking in taken)]


def occupancy(booked: Iterable[DateRange], within: DateRange) -> float:
    """The share of ``within``'s days that are booked, from 0.0 to 1.0."""
    free = len(free_days(booked, within))
    return (len(within) - free) / len(within)
