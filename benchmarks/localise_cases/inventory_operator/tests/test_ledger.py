import pytest
from stock.ledger import Ledger, OutOfStock


def make() -> Ledger:
    ledger = Ledger()
    ledger.receive("bolt", 10)
    return ledger


def test_receive_adds_stock() -> None:
    ledger = make()
    ledger.receive("bolt", 5)
    assert ledger.available("bolt") == 15


def test_receive_rejects_zero() -> None:
    with pytest.raises(ValueError, match="positive"):
        make().receive("bolt", 0)


def test_reserve_some() -> None:
    ledger = make()
    ledger.reserve("bolt", 4)
    assert ledger.available("bolt") == 6


def test_reserve_everything_left() -> None:
    ledger = make()
    ledger.reserve("bolt", 10)
    assert ledger.available("bolt") == 0


def test_reserve_too_much() -> None:
    with pytest.raises(OutOfStock):
        make().reserve("bolt", 11)


def test_release() -> None:
    ledger = make()
    ledger.reserve("bolt", 3)
    ledger.release("bolt", 2)
    assert ledger.available("bolt") == 9


def test_ship() -> None:
    ledger = make()
    ledger.reserve("bolt", 3)
    ledger.ship("bolt", 3)
    assert ledger.available("bolt") == 7
