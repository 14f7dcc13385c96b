"""Call a flaky operation again until it succeeds or the attempts run out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TransientError(Exception):
    """A failure worth retrying."""


def backoff(attempt: int, base: float) -> float:
    return base * (2**attempt)


def call_with_retry(
    operation: Callable[[], T],
    attempts: int = 1,
    base_delay: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation``; on ``TransientError`` wait and try again, ``attempts`` times in all
    (three by default)."""
    last: TransientError | None = None
    for attempt in range(attempts):
        try:
            return operation()
        except TransientError as error:
            last = error
            sleep(backoff(attempt, base_delay))
    assert last is not None
    raise last
