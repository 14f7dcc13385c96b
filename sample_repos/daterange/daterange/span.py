"""The ``DateRange`` value: a run of consecutive calendar days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class DateRange:
    """The calendar days from ``start`` to ``end``, both included.

    A one-day range has ``start == end``. Ranges are immutable and sort by start, then end.
    """

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"range ends before it starts: {self.start} .. {self.end}")

    @classmethod
    def single(cls, day: dt.date) -> DateRange:
        """The range holding only ``day``."""
        return cls(day, day)

    @classmethod
    def of_length(cls, start: dt.date, days: int) -> DateRange:
        """The ``days`` consecutive days beginning on ``start`` (``days`` >= 1)."""
        if days < 1:
            raise ValueError(f"a range holds at least one day, not {days}")
        return cls(start, start + (days - 1) * ONE_DAY)

    def __len__(self) -> int:
        """The number of days in the range (at least 1)."""
        return (self.end - self.start).days + 1

    def __iter__(self) -> Iterator[dt.date]:
        """The days of the range, in order."""
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY

    def __contains__(self, day: object) -> bool:
        """True when ``day`` is a date on one of the range's days."""
        if not isinstance(day, dt.date):
            return False
        return self.start <= day < self.end

    def overlaps(self, other: DateRange) -> bool:
        """True when the two ranges share at least one day."""
        return self.start in other or other.start in self

    def touches(self, other: DateRange) -> bool:
        """True when ``other`` begins the day after this range ends, or the other way round."""
        return self.end + ONE_DAY == other.start or other.end + ONE_DAY == self.start

    def intersection(self, other: DateRange) -> DateRange | None:
        """The days both ranges hold, or None when they share none."""
        if not self.overlaps(other):
            return None
        return DateRange(max(self.start, other.start), min(self.end, other.end))

    def span(self, other: DateRange) -> DateRange:
        """The smallest range holding both ranges (and any days between them)."""
        return DateRange(min(self.start, other.start), max(self.end, other.end))

    def shift(self, days: int) -> DateRange:
        """The same number of days, moved ``days`` later (earlier when negative)."""
        delta = days * ONE_DAY
        return DateRange(self.start + delta, self.end + delta)
