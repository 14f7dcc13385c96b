"""Reading expenses from the CSV a bank export or a spreadsheet produces.

Columns: ``date`` (ISO), ``category``, ``amount`` (decimal, e.g. ``12.50`` or ``-3``), ``note``
(optional). Categories are case-insensitive and stored in lower case.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from expenses.models import Expense


def read_expenses(lines: Iterable[str]) -> list[Expense]:
    """The expenses in CSV ``lines`` (with a header row); ValueError names the bad row."""
    expenses = []
    for row_number, row in enumerate(csv.DictReader(lines), start=2):
        try:
            expenses.append(_expense(row))
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"row {row_number}: {exc!r}") from None
    return expenses


def _expense(row: dict[str, str]) -> Expense:
    amount = Decimal(row["amount"].strip())
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount has more than two decimals: {row['amount']}")
    return Expense(
        day=dt.date.fromisoformat(row["date"].strip()),
        category=row["category"].strip().lower(),
        amount_cents=int(cents),
        note=(row.get("note") or "").strip(),
    )
