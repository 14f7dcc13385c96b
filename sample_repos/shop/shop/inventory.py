"""Stock levels, and reserving stock for orders all-or-nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shop.errors import OutOfStock
from shop.models import OrderLine


class Inventory:
    """Units on hand per SKU (upper case). Unknown SKUs have none."""

    def __init__(self, on_hand: Mapping[str, int]) -> None:
        self._on_hand = {sku.upper(): count for sku, count in on_hand.items()}

    def available(self, sku: str) -> int:
        """Units of ``sku`` that can still be reserved."""
        return self._on_hand.get(sku.upper(), 0)

    def reserve(self, lines: Iterable[OrderLine]) -> None:
        """Take the units of every line out of stock, or none of them.

        Raises OutOfStock, changing nothing, when any SKU is short (lines for the same SKU
        add up).
        """
        wanted: dict[str, int] = {}
        for line in lines:
            wanted[line.sku.upper()] = wanted.get(line.sku.upper(), 0) + line.quantity
        for sku, quantity in wanted.items():
            if self.available(sku) < quantity:
                raise OutOfStock(f"{sku}: {quantity} wanted, {self.available(sku)} available")
        for sku, quantity in wanted.items():
            self._on_hand[sku] -= quantity
