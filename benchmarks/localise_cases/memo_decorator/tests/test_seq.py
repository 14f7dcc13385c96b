from fib.seq import fibonacci, tribonacci


def test_fibonacci_values() -> None:
    assert [fibonacci(n) for n in range(8)] == [0, 1, 1, 2, 3, 5, 8, 13]


def test_tribonacci_values() -> None:
    assert [tribonacci(n) for n in range(7)] == [0, 0, 1, 1, 2, 4, 7]


def test_tribonacci_is_cached() -> None:
    tribonacci(30)
    assert tribonacci.info().hits > 0


def test_fibonacci_is_cached() -> None:
    fibonacci(30)
    assert fibonacci.info().hits > 0
