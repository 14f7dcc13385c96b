"""Word-level helpers over free text."""

from __future__ import annotations

import re

_PUNCT = re.compile(r"[^\w\s-]")


def normalise(text: str) -> str:
    """Lower case, punctuation removed, runs of whitespace collapsed to one space."""
    text = _PUNCT.sub("", text.lower())
    return " ".join(text.split(" "))


def words(text: str) -> list[str]:
    return [w for w in normalise(text).split(" ") if w]


def slug(text: str) -> str:
    return "-".join(words(text))


def initials(text: str) -> str:
    return "".join(w[0].upper() for w in words(text))


def same_text(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def word_count(text: str) -> int:
    return len(words(text))
