"""Volume discounts per order line, and coupon codes for the whole order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shop.errors import InvalidCoupon


@dataclass(frozen=True)
class VolumeTier:
    """Lines of at least ``min_quantity`` units get ``percent`` % off."""

    min_quantity: int
    percent: Decimal


@dataclass(frozen=True)
class Coupon:
    """``percent`` % off orders whose subtotal is at least ``min_subtotal``."""

    code: str
    percent: Decimal
    min_subtotal: Decimal = Decimal(0)


DEFAULT_TIERS = (
    VolumeTier(10, Decimal(5)),
    VolumeTier(50, Decimal(10)),
    VolumeTier(100, Decimal(15)),
)

DEFAULT_COUPONS = {
    "WELCOME10": Coupon("WELCOME10", Decimal(10)),
    "BIGSPENDER": Coupon("BIGSPENDER", Decimal(20), min_subtotal=Decimal(500)),
}


def volume_percent(quantity: int, tiers: Sequence[VolumeTier] = DEFAULT_TIERS) -> Decimal:
    """The percent off a line of ``quantity`` units: that of the highest tier it reaches.

    Lines below every tier get no discount.
    """
    reached = [tier for tier in tiers if quantity >= tier.min_quantity]
    if not reached:
        return Decimal(0)
    return min(reached, key=lambda tier: tier.min_quantity).percent


def coupon_percent(
    code: str | None,
    subtotal: Decimal,
    coupons: Mapping[str, Coupon] = DEFAULT_COUPONS,
) -> Decimal:
    """The percent off the order that coupon ``code`` gives; 0 for no code.

    Codes are case-insensitive. Raises InvalidCoupon for an unknown code or a subtotal below
    the coupon's minimum.
    """
    if not code:
        return Decimal(0)
    coupon = coupons.get(code.strip().upper())
    if coupon is None:
        raise InvalidCoupon(f"unknown coupon {code!r}")
    if subtotal < coupon.min_subtotal:
        raise InvalidCoupon(f"{coupon.code} needs a subtotal of at least ${coupon.min_subtotal}")
    return coupon.percent
