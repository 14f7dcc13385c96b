"""Bank accounts with an overdraft allowance."""

from __future__ import annotations


class Refused(Exception):
    """A withdrawal the account does not allow."""


class Account:
    overdraft = 500

    def __init__(self, owner: str, balance: int = 0) -> None:
        self.owner = owner
        self.balance = balance
        self.history: list[int] = []

    def deposit(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError("deposits are positive")
        self.balance += amount
        self.history.append(amount)

    def withdraw(self, amount: int) -> None:
        if self.balance - amount < -self.overdraft:
            raise Refused(f"{self.owner}: {amount} would pass the overdraft")
        self.balance -= amount
        self.history.append(-amount)


class Savings(Account):
    """No overdraft at all."""

    overdraft = 100
