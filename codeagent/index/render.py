"""The repo map: the best-ranked definitions that fit a token budget, as signature lines.

Files come best first (their best definition's rank, then path); within a file, definitions in
line order, each as ``<line> <indent><signature>``, a method under its class (the class line is
shown even when only the method was chosen). The text depends only on what is chosen, so the
same index and budget give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from codeagent.index.tags import Definition

TokenCounter = Callable[[str], int]


def approx_tokens(text: str) -> int:
    """About four characters a token: the usual estimate for code with BPE tokenizers."""
    return (len(text) + 3) // 4


class Chosen(NamedTuple):
    """One definition in the map, with the rank that put it there."""

    path: str
    position: int
    """Position of ``definition`` in its file's definitions."""
    definition: Definition
    score: float


def render(chosen: Sequence[Chosen], definitions_of: Callable[[str], Sequence[Definition]]) -> str:
    by_file: dict[str, list[Chosen]] = {}
    for item in chosen:  # best first, so a file's first entry is its best
        by_file.setdefault(item.path, []).append(item)
    blocks = []
    for path, items in by_file.items():
        all_defs = definitions_of(path)
        shown: set[int] = set()
        for item in items:
            index = item.position
            while index >= 0 and index not in shown:
                shown.add(index)
                index = all_defs[index].parent
        lines = [path]
        for index in sorted(shown, key=lambda i: (all_defs[i].line, i)):
            d = all_defs[index]
            lines.append(f"{d.line:>6} {'    ' * _depth(all_defs, index)}{d.signature}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _depth(defs: Sequence[Definition], index: int) -> int:
    depth = 0
    while defs[index].parent >= 0:
        index = defs[index].parent
        depth += 1
    return depth


def fit(
    ranked: Iterator[Chosen],
    budget: int,
    count_tokens: TokenCounter,
    definitions_of: Callable[[str], Sequence[Definition]],
) -> tuple[str, list[Chosen]]:
    """The longest best-first prefix of ``ranked`` whose rendering fits ``budget`` tokens.

    ``ranked`` is consumed lazily: doubling until the map no longer fits, then bisecting, so only
    the definitions that might fit are ever loaded. Rendering grows with the prefix, so the
    search is exact.
    """
    taken: list[Chosen] = []

    def prefix(k: int) -> list[Chosen] | None:
        while len(taken) < k:
            item = next(ranked, None)
            if item is None:
                return None
            taken.append(item)
        return taken[:k]

    def fits(k: int) -> str | None:
        items = prefix(k)
        if items is None:
            return None
        text = render(items, definitions_of)
        return text if count_tokens(text) <= budget else None

    low, low_text, high = 0, "", 1
    while True:  # gallop: find a failing length
        text = fits(high)
        if text is None:
            break
        low, low_text, high = high, text, high * 2
    high = min(high, len(taken) + 1) - 1
    while low < high:  # bisect: the prefix of length `low` fits, `high + 1` does not
        mid = (low + high + 1) // 2
        text = fits(mid)
        if text is None:
            high = mid - 1
        else:
            low, low_text = mid, text
    return low_text, taken[:low]
