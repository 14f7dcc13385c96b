"""The product catalog, loaded from a JSON list of products."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from shop.errors import ShopError, UnknownProduct
from shop.models import Product


class Catalog:
    """Products by SKU. SKUs are case-insensitive and stored in upper case."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._products = {product.sku.upper(): product for product in products}

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        """A catalog from ``[{"sku", "name", "price", "category"}, ...]``; price is a string."""
        try:
            records = json.loads(text)
            return cls(
                Product(
                    sku=str(record["sku"]).upper(),
                    name=str(record["name"]),
                    unit_price=Decimal(str(record["price"])),
                    category=str(record.get("category", "general")),
                )
                for record in records
            )
        except (json.JSONDecodeError, KeyError, TypeError, InvalidOperation) as exc:
            raise ShopError(f"malformed catalog: {exc!r}") from None

    @classmethod
    def load(cls, path: Path) -> Catalog:
        """The catalog stored in the JSON file at ``path``."""
        return cls.from_json(path.read_text(encoding="utf-8"))

    def get(self, sku: str) -> Product:
        """The product with ``sku``; UnknownProduct when there is none."""
        try:
            return self._products[sku.upper()]
        except KeyError:
            raise UnknownProduct(f"no product with SKU {sku!r}") from None

    def __iter__(self) -> Iterator[Product]:
        """The products, sorted by SKU."""
        return iter(sorted(self._products.values(), key=lambda product: product.sku))
