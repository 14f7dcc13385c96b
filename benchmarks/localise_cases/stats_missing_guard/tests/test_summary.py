from metrics.summary import average, describe, spread, total


def test_total() -> None:
    assert total([1.0, 2.0, 3.5]) == 6.5


def test_average() -> None:
    assert average([2.0, 4.0]) == 3.0


def test_spread() -> None:
    assert spread([3.0, -1.0, 2.0]) == 4.0


def test_spread_empty() -> None:
    assert spread([]) == 0.0


def test_describe() -> None:
    assert describe([1.0, 3.0]) == {"n": 2.0, "total": 4.0, "mean": 2.0, "spread": 2.0}


def test_describe_empty() -> None:
    assert describe([])["mean"] == 0.0
