import pytest
from timeparse.durations import format_seconds, parse


def test_seconds() -> None:
    assert parse("45s") == 45


def test_minutes_and_seconds() -> None:
    assert parse("2m5s") == 125


def test_days() -> None:
    assert parse("1d") == 86400


def test_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse("soon")


def test_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse("  ")


def test_format() -> None:
    assert format_seconds(125) == "2m05s"


def test_hours() -> None:
    assert parse("1h30m") == 5400
