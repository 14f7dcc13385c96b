import datetime as dt

from daterange import DateRange, free_days, merge, occupancy


def d(day: int) -> dt.date:
    return dt.date(2024, 7, day)


def test_merge_overlapping_and_touching() -> None:
    bookings = [
        DateRange(d(20), d(22)),
        DateRange(d(1), d(4)),
        DateRange(d(3), d(6)),
        DateRange(d(7), d(9)),
    ]
    assert merge(bookings) == [DateRange(d(1), d(9)), DateRange(d(20), d(22))]


def test_merge_keeps_gaps() -> None:
    bookings = [DateRange(d(1), d(2)), DateRange(d(5), d(6))]
    assert merge(bookings) == bookings


def test_free_days_around_a_long_stay() -> None:
    window = DateRange(d(1), d(10))
    assert free_days([DateRange(d(8), d(20))], window) == [d(n) for n in range(1, 8)]


def test_free_days_between_bookings() -> None:
    window = DateRange(d(1), d(7))
    booked = [DateRange(d(1), d(2)), DateRange(d(5), d(6))]
    assert free_days(booked, window) == [d(3), d(4), d(7)]


def test_occupancy_of_the_window() -> None:
    window = DateRange(d(1), d(10))
    assert occupancy([], window) == 0.0
    assert occupancy([DateRange(d(8), d(15))], window) == 0.3
    assert occupancy([DateRange(d(11), d(15))], window) == 0.0
