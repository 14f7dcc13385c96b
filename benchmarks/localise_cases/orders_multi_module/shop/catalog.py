"""The products on sale."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    price: Decimal
    category: str


CATALOG = {
    "novel": Product("novel", Decimal("12.00"), "books"),
    "lamp": Product("lamp", Decimal("40.00"), "home"),
    "apple": Product("apple", Decimal("0.50"), "food"),
}


def lookup(sku: str) -> Product:
    return CATALOG[sku]
