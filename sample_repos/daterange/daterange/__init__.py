"""Inclusive ranges of calendar days, for bookings and availability calendars."""

from daterange.calendar import free_days, merge, occupancy
from daterange.parse import format_range, parse_range
from daterange.span import DateRange

__all__ = ["DateRange", "format_range", "free_days", "merge", "occupancy", "parse_range"]
