"""The ``Expense`` record. Amounts are whole cents so that totals never drift."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Expense:
    """One payment. A refund is an expense with a negative amount."""

    day: dt.date
    category: str
    amount_cents: int
    note: str = ""

    def in_month(self, year: int, month: int) -> bool:
        """True when the payment was made in ``month`` of ``year``."""
        return (self.day.year, self.day.month) == (year, month)
