"""Pricing an order: list prices, volume discounts, the coupon, then sales tax."""

from __future__ import annotations

from dataclasses import dataclass, field

from shop import discounts
from shop.catalog import Catalog
from shop.models import Order, Quote, QuotedLine
from shop.money import ZERO, percent_of, to_money
from shop.tax import sales_tax


@dataclass(frozen=True)
class PricingPolicy:
    """The discount rules in force."""

    tiers: tuple[discounts.VolumeTier, ...] = discounts.DEFAULT_TIERS
    coupons: dict[str, discounts.Coupon] = field(
        default_factory=lambda: dict(discounts.DEFAULT_COUPONS)
    )


def quote_order(order: Order, catalog: Catalog, policy: PricingPolicy) -> Quote:
    """The price of ``order``.

    Each line gets its volume discount; the coupon applies to the sum of the discounted lines;
    tax is charged on what remains. Raises UnknownProduct or InvalidCoupon.
    """
    lines = []
    for line in order.lines:
        product = catalog.get(line.sku)
        gross = to_money(product.unit_price * line.quantity)
        discount = percent_of(gross, discounts.volume_percent(line.quantity, policy.tiers))
        lines.append(QuotedLine(product, line.quantity, gross, discount))
    subtotal = sum((line.net for line in lines), ZERO)
    coupon_discount = percent_of(
        subtotal, discounts.coupon_percent(order.coupon, subtotal, policy.coupons)
    )
    tax = sales_tax(subtotal - coupon_discount, order.region)
    return Quote(
        lines=tuple(lines),
        subtotal=subtotal,
        coupon_discount=coupon_discount,
        tax=tax,
        total=subtotal - coupon_discount + tax,
    )
