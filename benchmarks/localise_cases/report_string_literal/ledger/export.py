"""Export ledger entries as CSV text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

HEADER = ("date", "account", "amount", "memo")


@dataclass(frozen=True)
class Entry:
    date: str
    account: str
    amount: Decimal
    memo: str = ""


def quote(field: str) -> str:
    if any(c in field for c in ',"\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def row(values: Iterable[str]) -> str:
    return ";".join(quote(v) for v in values)


def to_csv(entries: Iterable[Entry]) -> str:
    lines = [row(HEADER)]
    for e in entries:
        lines.append(row((e.date, e.account, f"{e.amount:.2f}", e.memo)))
    return "\n".join(lines) + "\n"
