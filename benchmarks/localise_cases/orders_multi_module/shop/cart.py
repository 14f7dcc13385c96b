"""A shopping cart and its checkout."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from shop.catalog import lookup
from shop.tax import tax


@dataclass(frozen=True)
class Receipt:
    subtotal: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


@dataclass
class Cart:
    region: str
    items: Counter[str] = field(default_factory=Counter)

    def add(self, sku: str, quantity: int = 1) -> None:
        lookup(sku)  # unknown products fail here, not at checkout
        self.items[sku] += quantity

    def checkout(self) -> Receipt:
        subtotal = Decimal("0")
        taxes = Decimal("0")
        for sku, quantity in sorted(self.items.items()):
            product = lookup(sku)
            amount = product.price * quantity
            subtotal += amount
            taxes += tax(amount, self.region, product.category)
        return Receipt(subtotal, taxes)
