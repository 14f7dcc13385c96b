import pytest
from bank.account import Account, Refused, Savings


def test_deposit() -> None:
    a = Account("ann")
    a.deposit(50)
    assert a.balance == 50


def test_deposit_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Account("ann").deposit(0)


def test_overdraft_allowed() -> None:
    a = Account("ann", 10)
    a.withdraw(60)
    assert a.balance == -50


def test_overdraft_limit() -> None:
    with pytest.raises(Refused):
        Account("ann").withdraw(501)


def test_history() -> None:
    a = Account("ann")
    a.deposit(5)
    a.withdraw(3)
    assert a.history == [5, -3]


def test_savings_cannot_go_negative() -> None:
    with pytest.raises(Refused):
        Savings("bo", 10).withdraw(20)
