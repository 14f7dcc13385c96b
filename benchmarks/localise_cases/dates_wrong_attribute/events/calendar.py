"""Events on a calendar, grouped and described."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    title: str
    start: dt.datetime
    minutes: int

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(minutes=self.minutes)


def by_day(events: list[Event]) -> dict[dt.date, list[str]]:
    days: dict[dt.date, list[str]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.start):
        days[event.start.date()].append(event.title)
    return dict(days)


def overlaps(a: Event, b: Event) -> bool:
    return a.start < b.end and b.start < a.end


def describe(event: Event) -> str:
    when = event.start.strftime("%d %b %H:%M")
    until = event.end.strftime("%H:%M")
    hours, minutes = divmod(event.minutes, 60)
    length = f"{hours}h{minutes:02d}" if hours else f"{minutes} min"
    return f"{event.title}: {when}-{until} ({length})"


def busiest_hour(events: list[Event]) -> int:
    counts: dict[int, int] = defaultdict(int)
    for event in events:
        counts[event.start.minute] += 1
    return max(sorted(counts), key=lambda h: counts[h])
