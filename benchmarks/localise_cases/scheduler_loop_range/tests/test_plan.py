import pytest
from jobs.plan import Job, ordered, pack, total_minutes


def test_ordered_by_priority_then_name() -> None:
    jobs = [Job("b", 5), Job("a", 5), Job("c", 5, priority=2)]
    assert [j.name for j in ordered(jobs)] == ["c", "a", "b"]


def test_total() -> None:
    assert total_minutes([Job("a", 5), Job("b", 7)]) == 12


def test_pack_empty() -> None:
    assert pack([], 30) == [[]]


def test_pack_splits_slots() -> None:
    jobs = [Job("a", 20), Job("b", 20), Job("c", 5)]
    assert pack(jobs, 30) == [["a"], ["b", "c"]]


def test_pack_rejects_long_job() -> None:
    with pytest.raises(ValueError, match="longer than a slot"):
        pack([Job("x", 5), Job("long", 90)], 60)
