"""Sales tax by region."""

from __future__ import annotations

from decimal import Decimal

from shop.money import percent_of

RATES = {
    "default": Decimal("8.0"),
    "NY": Decimal("8.875"),
    "OR": Decimal(0),
    "TX": Decimal("6.25"),
}


def sales_tax(amount: Decimal, region: str) -> Decimal:
    """The tax due on ``amount`` in ``region``; regions without a rate use the default."""
    rate = RATES.get(region.upper(), RATES["default"])
    return percent_of(amount, rate)
