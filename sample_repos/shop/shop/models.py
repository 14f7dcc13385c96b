"""The values the order desk passes around. All are immutable."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    """A catalog entry. ``unit_price`` is in dollars, exact to the cent."""

    sku: str
    name: str
    unit_price: Decimal
    category: str


@dataclass(frozen=True)
class OrderLine:
    """``quantity`` units of the product ``sku``."""

    sku: str
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"{self.sku}: quantity must be at least 1, not {self.quantity}")


@dataclass(frozen=True)
class Order:
    """What a customer asks for. ``region`` selects the sales tax rate."""

    customer: str
    lines: tuple[OrderLine, ...]
    coupon: str | None = None
    region: str = "default"


@dataclass(frozen=True)
class QuotedLine:
    """One order line priced: ``gross`` at list price, less its volume ``discount``."""

    product: Product
    quantity: int
    gross: Decimal
    discount: Decimal

    @property
    def net(self) -> Decimal:
        """What the line costs after its volume discount."""
        return self.gross - self.discount


@dataclass(frozen=True)
class Quote:
    """The price of an order: ``total = subtotal - coupon_discount + tax``."""

    lines: tuple[QuotedLine, ...]
    subtotal: Decimal
    coupon_discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Confirmation:
    """A placed order: its id and the quote the customer accepted."""

    order_id: str
    order: Order
    quote: Quote
