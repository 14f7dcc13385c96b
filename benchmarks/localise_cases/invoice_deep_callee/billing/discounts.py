"""Discount rules applied to a line's unit price."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def percent_off(price: Decimal, percent: int) -> Decimal:
    """``price`` reduced by ``percent`` per cent, rounded to the cent."""
    if not 0 <= percent <= 100:
        raise ValueError(f"bad discount {percent}%")
    reduced = price * percent / 100
    return reduced.quantize(CENT)


def bulk_percent(quantity: int) -> int:
    if quantity >= 100:
        return 15
    if quantity >= 10:
        return 5
    return 0
