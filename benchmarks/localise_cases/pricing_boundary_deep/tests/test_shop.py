from shop.order import order_total
from shop.pricing import discount, price


def test_no_discount():
    assert price(100, 3) == 300


def test_big_order():
    assert discount(500) == 15


def test_empty_order():
    assert order_total([]) == 0


def test_mixed_order():
    assert order_total([(100, 1), (100, 20)]) == 2000


def test_exactly_ten_get_five_percent():
    assert order_total([(100, 10)]) == 950
