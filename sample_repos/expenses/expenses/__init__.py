"""Household expenses: read them from CSV, total them by category, print monthly reports."""

from expenses.csvio import read_expenses
from expenses.models import Expense
from expenses.report import category_totals, monthly_report

__all__ = ["Expense", "category_totals", "monthly_report", "read_expenses"]
