from geometry.rect import Rect


def test_area() -> None:
    assert Rect(0, 0, 2, 3).area() == 6


def test_edges() -> None:
    r = Rect(1, 2, 3, 4)
    assert (r.right, r.bottom) == (4, 6)


def test_contains() -> None:
    r = Rect(0, 0, 10, 10)
    assert r.contains(5, 5)
    assert not r.contains(11, 5)


def test_scaled() -> None:
    assert Rect(1, 1, 2, 3).scaled(2) == Rect(1, 1, 4, 6)


def test_union() -> None:
    assert Rect(0, 5, 2, 2).union(Rect(3, 6, 1, 4)) == Rect(0, 5, 4, 5)
