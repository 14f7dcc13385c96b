"""Money amounts: ``Decimal`` values rounded to cents, half up, as a till does."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded to whole cents (half a cent rounds up)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal | int) -> Decimal:
    """``percent`` % of ``amount``, rounded to cents."""
    return to_money(amount * Decimal(percent) / 100)


def format_money(amount: Decimal) -> str:
    """``amount`` for display: ``$1,234.50``, ``-$3.00``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
