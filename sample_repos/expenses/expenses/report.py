"""The monthly report: spending per category, largest first, with a total line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from expenses.formatting import columns, format_money, format_month, format_share
from expenses.models import Expense


def category_totals(expenses: Iterable[Expense], year: int, month: int) -> dict[str, int]:
    """Cents spent per category in the month, largest first (ties by name)."""
    totals: Counter[str] = Counter()
    for expense in expenses:
        if expense.in_month(year, month):
            totals[expense.category] += expense.amount_cents
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def monthly_report(expenses: Iterable[Expense], year: int, month: int) -> str:
    """The report for one month as text: a heading, one line per category, and the total.

    A month without expenses reports ``No expenses.`` instead of the table.
    """
    totals = category_totals(expenses, year, month)
    heading = f"Expenses for {format_month(year, month)}"
    if not totals:
        return f"{heading}\nNo expenses."
    grand_total = sum(totals.values())
    rows = [
        [category, format_money(cents), format_share(cents, grand_total)]
        for category, cents in totals.items()
    ]
    rows.append(["total", format_money(grand_total), ""])
    return "\n".join([heading, "=" * len(heading), *columns(rows)])
