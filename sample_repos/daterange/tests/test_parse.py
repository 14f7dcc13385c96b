import datetime as dt

import pytest

from daterange import DateRange, format_range, parse_range


def test_parse_two_dates() -> None:
    assert parse_range("2024-03-01..2024-03-05") == DateRange(
        dt.date(2024, 3, 1), dt.date(2024, 3, 5)
    )


def test_parse_one_date_with_spaces() -> None:
    assert parse_range(" 2024-03-01 ") == DateRange.single(dt.date(2024, 3, 1))


@pytest.mark.parametrize("text", ["", "2024-03-01..", "1..2..3", "2024-13-01", "yesterday"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an? "):
        parse_range(text)


@pytest.mark.parametrize("text", ["2024-03-01", "2024-02-28..2024-03-02"])
def test_format_round_trips(text: str) -> None:
    assert format_range(parse_range(text)) == text
