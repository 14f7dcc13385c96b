from decimal import Decimal

import pytest
from billing.discounts import bulk_percent
from billing.invoice import Invoice


def test_empty_total() -> None:
    assert Invoice().total() == Decimal("0")


def test_bulk_tiers() -> None:
    assert [bulk_percent(q) for q in (1, 10, 100)] == [0, 5, 15]


def test_rejects_zero_quantity() -> None:
    with pytest.raises(ValueError, match="positive"):
        Invoice().add("pen", 0, "1.00")


def test_small_order_total() -> None:
    invoice = Invoice()
    invoice.add("pen", 2, "1.50")
    invoice.add("pad", 1, "4.00")
    assert invoice.total() == Decimal("7.00")


def test_bulk_order_total() -> None:
    invoice = Invoice()
    invoice.add("pen", 10, "2.00")
    assert invoice.total() == Decimal("19.00")
