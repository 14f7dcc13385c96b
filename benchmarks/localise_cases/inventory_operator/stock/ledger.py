"""Stock levels per item, with reservations that hold stock for open orders."""

from __future__ import annotations


class OutOfStock(Exception):
    """Asked for more than is available."""


class Ledger:
    def __init__(self) -> None:
        self.on_hand: dict[str, int] = {}
        self.reserved: dict[str, int] = {}

    def receive(self, item: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.on_hand[item] = self.on_hand.get(item, 0) + quantity

    def available(self, item: str) -> int:
        return self.on_hand.get(item, 0) - self.reserved.get(item, 0)

    def reserve(self, item: str, quantity: int) -> None:
        free = self.available(item)
        if quantity >= free:
            raise OutOfStock(f"{item}: {quantity} asked, {free} free")
        self.reserved[item] = self.reserved.get(item, 0) + quantity

    def release(self, item: str, quantity: int) -> None:
        held = self.reserved.get(item, 0)
        self.reserved[item] = max(held - quantity, 0)

    def ship(self, item: str, quantity: int) -> None:
        self.release(item, quantity)
        self.on_hand[item] = self.on_hand.get(item, 0) - quantity
