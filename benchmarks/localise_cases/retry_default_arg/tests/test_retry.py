import pytest
from netutil.retry import TransientError, backoff, call_with_retry


def flaky(failures: int):
    calls = {"n": 0}

    def operation() -> str:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise TransientError("try later")
        return "ok"

    return operation


def test_backoff_doubles() -> None:
    assert [backoff(i, 0.5) for i in range(3)] == [0.5, 1.0, 2.0]


def test_success_first_time() -> None:
    assert call_with_retry(flaky(0)) == "ok"


def test_explicit_attempts() -> None:
    assert call_with_retry(flaky(3), attempts=4) == "ok"


def test_gives_up() -> None:
    with pytest.raises(TransientError):
        call_with_retry(flaky(5), attempts=2)


def test_sleeps_between() -> None:
    waits: list[float] = []
    call_with_retry(flaky(1), attempts=2, base_delay=1.0, sleep=waits.append)
    assert waits == [1.0]


def test_three_attempts_by_default() -> None:
    assert call_with_retry(flaky(2)) == "ok"
