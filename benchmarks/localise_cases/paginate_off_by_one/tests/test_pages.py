import pytest
from listing.pages import page, page_count


def test_page_count_exact() -> None:
    assert page_count(20, 10) == 2


def test_page_count_rounds_up() -> None:
    assert page_count(21, 10) == 3


def test_page_count_empty_is_one_page() -> None:
    assert page_count(0, 10) == 1


def test_page_count_bad_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        page_count(5, 0)


def test_first_page() -> None:
    result = page(list(range(25)), 1, size=10)
    assert result.items == list(range(10))


def test_last_page_has_no_next() -> None:
    assert not page(list(range(25)), 3, size=10).has_next


def test_page_out_of_range() -> None:
    with pytest.raises(IndexError):
        page([1, 2, 3], 2, size=5)


def test_second_page() -> None:
    result = page(list(range(25)), 2, size=10)
    assert result.items == list(range(10, 20))
    assert result.has_next
