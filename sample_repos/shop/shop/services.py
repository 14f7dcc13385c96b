"""The order desk: quoting and placing orders against one catalog and its stock."""

from __future__ import annotations

import itertools

from shop.catalog import Catalog
from shop.inventory import Inventory
from shop.models import Confirmation, Order, Quote
from shop.pricing import PricingPolicy, quote_order


class OrderService:
    """Quotes and places orders; placing an order reserves its stock."""

    def __init__(
        self,
        catalog: Catalog,
        inventory: Inventory,
        policy: PricingPolicy | None = None,
    ) -> None:
        self.catalog = catalog
        self.inventory = inventory
        self.policy = policy or PricingPolicy()
        self._numbers = itertools.count(1)

    def quote(self, order: Order) -> Quote:
        """The price of ``order``, without reserving anything."""
        return quote_order(order, self.catalog, self.policy)

    def place(self, order: Order) -> Confirmation:
        """Price ``order``, reserve its stock and give it a new id (``ORD-00001``...).

        Raises UnknownProduct, InvalidCoupon or OutOfStock; nothing is reserved then.
        """
        quote = self.quote(order)
        self.inventory.reserve(order.lines)
        return Confirmation(f"ORD-{next(self._numbers):05d}", order, quote)
