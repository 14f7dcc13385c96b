import datetime as dt

from events.calendar import Event, busiest_hour, by_day, describe, overlaps


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute)


def test_by_day() -> None:
    events = [Event("b", at(2, 9), 30), Event("a", at(1, 9), 30), Event("c", at(1, 8), 15)]
    assert by_day(events) == {at(1, 0).date(): ["c", "a"], at(2, 0).date(): ["b"]}


def test_overlaps() -> None:
    assert overlaps(Event("a", at(1, 9), 60), Event("b", at(1, 9, 30), 60))
    assert not overlaps(Event("a", at(1, 9), 30), Event("b", at(1, 9, 30), 60))


def test_describe() -> None:
    assert describe(Event("Standup", at(4, 9, 30), 90)) == "Standup: 04 Mar 09:30-11:00 (1h30)"


def test_describe_short() -> None:
    assert describe(Event("Call", at(4, 9), 20)) == "Call: 04 Mar 09:00-09:20 (20 min)"


def test_busiest_hour() -> None:
    events = [Event("a", at(1, 9), 10), Event("b", at(1, 14, 15), 10), Event("c", at(2, 14), 10)]
    assert busiest_hour(events) == 14
