"""Convert submitted form fields (always strings) to values, with fallbacks."""

from __future__ import annotations


def to_int(text: str | None, default: int = 0) -> int:
    """The integer in ``text``, or ``default`` when it holds none."""
    if text is None:
        return default
    try:
        return int(text.strip())
    except TypeError:
        return default


def to_bool(text: str | None) -> bool:
    return (text or "").strip().lower() in {"on", "yes", "true", "1"}


def to_tags(text: str | None) -> list[str]:
    if not text:
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


def parse(form: dict[str, str]) -> dict[str, object]:
    return {
        "age": to_int(form.get("age")),
        "subscribe": to_bool(form.get("subscribe")),
        "tags": to_tags(form.get("tags")),
    }
