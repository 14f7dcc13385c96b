import pytest

from expenses.formatting import columns, format_money, format_month, format_share


@pytest.mark.parametrize(
    ("cents", "text"),
    [(123456, "$1,234.56"), (99999, "$999.99"), (-250, "-$2.50"), (1234567890, "$12,345,678.90")],
)
def test_format_money(cents: int, text: str) -> None:
    assert format_money(cents) == text


def test_format_money_with_another_symbol() -> None:
    assert format_money(4215, symbol="€") == "€42.15"


def test_format_share() -> None:
    assert format_share(1, 3) == "33%"
    assert format_share(2, 3) == "67%"
    assert format_share(5, 0) == "-"


def test_format_month() -> None:
    assert format_month(2024, 2) == "February 2024"


def test_columns() -> None:
    assert columns([["a", "1"], ["longer", "100"]]) == ["a         1", "longer  100"]
    assert columns([]) == []
