from decimal import Decimal

from ledger.export import Entry, quote, to_csv


def test_quote_plain() -> None:
    assert quote("rent") == "rent"


def test_quote_comma() -> None:
    assert quote("a,b") == '"a,b"'


def test_quote_doubles_quotes() -> None:
    assert quote('say "hi"') == '"say ""hi"""'


def test_to_csv() -> None:
    text = to_csv([Entry("2024-01-02", "cash", Decimal("3.5"), "coffee")])
    assert text == "date,account,amount,memo\n2024-01-02,cash,3.50,coffee\n"
