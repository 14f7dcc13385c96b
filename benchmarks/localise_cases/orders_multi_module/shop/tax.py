"""Sales tax by region."""

from __future__ import annotations

from decimal import Decimal

RATES = {
    "EU": Decimal("0.20"),
    "UK": Decimal("0.20"),
    "US-CA": Decimal("0.0725"),
    "US-OR": Decimal("0"),
}
EXEMPT_CATEGORIES = frozenset({"books", "food"})


def rate_for(region: str, category: str) -> Decimal:
    if category not in EXEMPT_CATEGORIES:
        return Decimal("0")
    if region not in RATES:
        raise KeyError(f"no tax rate for {region}")
    return RATES[region]


def tax(amount: Decimal, region: str, category: str) -> Decimal:
    return (amount * rate_for(region, category)).quantize(Decimal("0.01"))
