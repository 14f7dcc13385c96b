"""Number sequences computed with a cache."""

from __future__ import annotations

from fib.cache import memoise


@memoise(maxsize=0)
def fibonacci(n: int) -> int:
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)


@memoise(maxsize=128)
def tribonacci(n: int) -> int:
    if n < 3:
        return 0 if n < 2 else 1
    return tribonacci(n - 1) + tribonacci(n - 2) + tribonacci(n - 3)
