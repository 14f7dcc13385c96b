from decimal import Decimal

import pytest

from shop.catalog import Catalog
from shop.errors import ShopError, UnknownProduct


def test_lookup_is_case_insensitive(catalog: Catalog) -> None:
    product = catalog.get("glue-50")
    assert product.name == "Wood glue 50 ml"
    assert product.unit_price == Decimal("4.99")


def test_products_are_listed_by_sku(catalog: Catalog) -> None:
    assert [product.sku for product in catalog] == ["BOLT-M6", "GLUE-50", "SAW-PRO"]


def test_unknown_sku(catalog: Catalog) -> None:
    with pytest.raises(UnknownProduct, match="NAIL-10"):
        catalog.get("NAIL-10")


@pytest.mark.parametrize(
    "text", ["{", '[{"sku": "A"}]', '[{"sku": "A", "name": "a", "price": "x"}]']
)
def test_malformed_catalog(text: str) -> None:
    with pytest.raises(ShopError, match="malformed catalog"):
        Catalog.from_json(text)
