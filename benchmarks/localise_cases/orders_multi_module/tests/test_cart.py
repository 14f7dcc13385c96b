from decimal import Decimal

import pytest
from shop.cart import Cart
from shop.catalog import lookup


def test_lookup() -> None:
    assert lookup("lamp").price == Decimal("40.00")


def test_unknown_product() -> None:
    with pytest.raises(KeyError):
        Cart("EU").add("unicorn")


def test_empty_checkout() -> None:
    assert Cart("EU").checkout().total == Decimal("0")


def test_books_are_exempt() -> None:
    cart = Cart("EU")
    cart.add("novel", 2)
    assert cart.checkout().tax == Decimal("0")


def test_lamp_taxed_in_eu() -> None:
    cart = Cart("EU")
    cart.add("lamp")
    assert cart.checkout().total == Decimal("48.00")


def test_no_tax_in_oregon() -> None:
    cart = Cart("US-OR")
    cart.add("lamp")
    cart.add("apple", 4)
    assert cart.checkout().total == Decimal("42.00")
