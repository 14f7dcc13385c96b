"""Invoices: lines of quantity x unit price, with bulk discounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from billing.discounts import bulk_percent, percent_off


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price: Decimal

    def unit_after_discount(self) -> Decimal:
        return percent_off(self.unit_price, bulk_percent(self.quantity))

    def amount(self) -> Decimal:
        return self.unit_after_discount() * self.quantity


@dataclass
class Invoice:
    lines: list[Line] = field(default_factory=list)

    def add(self, sku: str, quantity: int, unit_price: str) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.lines.append(Line(sku, quantity, Decimal(unit_price)))

    def total(self) -> Decimal:
        return sum((line.amount() for line in self.lines), Decimal("0"))
