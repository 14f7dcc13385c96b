"""Split result lists into numbered pages (page numbers start at 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    number: int
    items: list[T]
    total_pages: int

    @property
    def has_next(self) -> bool:
        return self.number < self.total_pages


def page_count(total: int, size: int) -> int:
    if size <= 0:
        raise ValueError("page size must be positive")
    return max(1, -(-total // size))


def page(items: list[T], number: int, size: int = 10) -> Page[T]:
    pages = page_count(len(items), size)
    if not 1 <= number <= pages:
        raise IndexError(f"page {number} of {pages}")
    start = number * size
    chunk = items[start : start + size]
    return Page(number, chunk, pages)
