import pytest

from calc.ops import add, clamp, mean


def test_add() -> None:
    assert add(2, 3) == 5


def test_clamp() -> None:
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0
    assert clamp(2, 0, 3) == 2


def test_mean() -> None:
    assert mean([1.0, 2.0, 3.0]) == 2.0


def test_mean_of_nothing() -> None:
    with pytest.raises(ValueError):
        mean([])
