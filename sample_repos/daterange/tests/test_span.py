import datetime as dt

import pytest

from daterange import DateRange


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2024, month, day)


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        DateRange(d(5), d(4))


def test_length_counts_both_ends() -> None:
    assert len(DateRange(d(1), d(5))) == 5
    assert len(DateRange.single(d(1))) == 1
    assert DateRange.of_length(d(30), 3) == DateRange(d(30), d(1, month=4))


def test_iterates_over_every_day() -> None:
    assert list(DateRange(d(28, month=2), d(1))) == [d(28, 2), d(29, 2), d(1)]


def test_contains_middle_day() -> None:
    assert d(3) in DateRange(d(1), d(5))


def test_does_not_contain_neighbouring_days() -> None:
    stay = DateRange(d(10), d(12))
    assert d(9) not in stay
    assert d(13) not in stay
    assert "2024-03-11" not in stay


def test_contains_both_ends() -> None:
    stay = DateRange(d(10), d(12))
    assert d(10) in stay
    assert d(12) in stay


def test_partial_overlap() -> None:
    first = DateRange(d(1), d(10))
    second = DateRange(d(5), d(15))
    assert first.overlaps(second)
    assert second.overlaps(first)
    assert first.intersection(second) == DateRange(d(5), d(10))


def test_nested_ranges_overlap() -> None:
    outer = DateRange(d(1), d(20))
    inner = DateRange(d(1), d(3))
    assert outer.overlaps(inner)
    assert inner.intersection(outer) == inner


def test_disjoint_ranges() -> None:
    first = DateRange(d(1), d(4))
    second = DateRange(d(6), d(9))
    assert not first.overlaps(second)
    assert first.intersection(second) is None
    assert not first.touches(second)


def test_ranges_sharing_one_day_overlap() -> None:
    checkout = DateRange(d(1), d(5))
    next_guest = DateRange(d(5), d(8))
    assert checkout.overlaps(next_guest)
    assert checkout.intersection(next_guest) == DateRange.single(d(5))


def test_span_and_shift() -> None:
    first = DateRange(d(1), d(2))
    assert first.span(DateRange(d(7), d(9))) == DateRange(d(1), d(9))
    assert first.shift(7) == DateRange(d(8), d(9))
    assert first.shift(-1) == DateRange(d(29, month=2), d(1))
