"""A counting memoiser, so callers can see how much work a cache saved."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def memoise(maxsize: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def inner(*args: Any) -> Any:
            inner.calls += 1  # type: ignore[attr-defined]
            return cached(*args)

        inner.calls = 0  # type: ignore[attr-defined]
        inner.info = cached.cache_info  # type: ignore[attr-defined]
        return inner

    return wrap
