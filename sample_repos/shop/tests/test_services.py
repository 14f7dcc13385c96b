from decimal import Decimal

import pytest

from shop.catalog import Catalog
from shop.errors import InvalidCoupon, OutOfStock, UnknownProduct
from shop.inventory import Inventory
from shop.models import Order, OrderLine
from shop.services import OrderService


def order(*lines: tuple[str, int], coupon: str | None = None, region: str = "default") -> Order:
    return Order("acme", tuple(OrderLine(sku, n) for sku, n in lines), coupon, region)


@pytest.fixture
def service(catalog: Catalog) -> OrderService:
    return OrderService(catalog, Inventory({"BOLT-M6": 500, "GLUE-50": 80, "SAW-PRO": 3}))


def test_quote_small_order(service: OrderService) -> None:
    quote = service.quote(order(("SAW-PRO", 1), ("GLUE-50", 2)))
    assert [line.net for line in quote.lines] == [Decimal("39.00"), Decimal("9.98")]
    assert quote.subtotal == Decimal("48.98")
    assert quote.tax == Decimal("3.92")
    assert quote.total == Decimal("52.90")


def test_quote_with_volume_discount(service: OrderService) -> None:
    quote = service.quote(order(("BOLT-M6", 20)))
    assert quote.lines[0].gross == Decimal("7.00")
    assert quote.lines[0].discount == Decimal("0.35")
    assert quote.total == Decimal("7.18")


def test_bulk_order_quote(service: OrderService) -> None:
    quote = service.quote(order(("BOLT-M6", 200), ("GLUE-50", 60), region="NY"))
    assert [line.discount for line in quote.lines] == [Decimal("10.50"), Decimal("29.94")]
    assert quote.subtotal == Decimal("328.96")
    assert quote.tax == Decimal("29.20")
    assert quote.total == Decimal("358.16")


def test_coupon(service: OrderService) -> None:
    quote = service.quote(order(("SAW-PRO", 1), ("GLUE-50", 2), coupon="welcome10"))
    assert quote.coupon_discount == Decimal("4.90")
    assert quote.tax == Decimal("3.53")
    assert quote.total == Decimal("47.61")


def test_coupon_minimum_subtotal(service: OrderService) -> None:
    with pytest.raises(InvalidCoupon, match="at least"):
        service.quote(order(("SAW-PRO", 1), coupon="BIGSPENDER"))
    with pytest.raises(InvalidCoupon, match="unknown coupon"):
        service.quote(order(("SAW-PRO", 1), coupon="FREESTUFF"))


def test_tax_free_region(service: OrderService) -> None:
    quote = service.quote(order(("SAW-PRO", 2), region="or"))
    assert quote.tax == Decimal(0)
    assert quote.total == Decimal("78.00")


def test_place_reserves_stock(service: OrderService) -> None:
    first = service.place(order(("BOLT-M6", 120), ("SAW-PRO", 1)))
    second = service.place(order(("BOLT-M6", 30)))
    assert (first.order_id, second.order_id) == ("ORD-00001", "ORD-00002")
    assert first.quote.lines[0].quantity == 120
    assert service.inventory.available("BOLT-M6") == 350
    assert service.inventory.available("saw-pro") == 2


def test_out_of_stock_reserves_nothing(service: OrderService) -> None:
    with pytest.raises(OutOfStock, match="SAW-PRO"):
        service.place(order(("GLUE-50", 10), ("SAW-PRO", 2), ("SAW-PRO", 2)))
    assert service.inventory.available("GLUE-50") == 80
    assert service.inventory.available("SAW-PRO") == 3


def test_unknown_product_is_not_placed(service: OrderService) -> None:
    with pytest.raises(UnknownProduct):
        service.place(order(("BOLT-M6", 5), ("NAIL-10", 5)))
    assert service.inventory.available("BOLT-M6") == 500


def test_quantity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        OrderLine("BOLT-M6", 0)
