import pytest

from latency import Request, percentile, summarize


def test_percentile_nearest_rank() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(values, 30) == 20.0
    assert percentile(values, 40) == 20.0
    assert percentile(values, 50) == 35.0
    assert percentile(values, 100) == 50.0


def test_percentile_does_not_need_sorted_input() -> None:
    assert percentile([9.0, 1.0, 5.0], 50) == 5.0
    assert percentile([7.5], 95) == 7.5


@pytest.mark.parametrize("p", [0, -5, 100.5])
def test_percentile_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0, 2.0], p)


def test_percentile_of_no_values() -> None:
    assert percentile([], 50) is None
    assert percentile([], 99.9) is None


def test_summarize() -> None:
    requests = [
        Request("t", "GET", "/api/items", 200, ms)
        for ms in (12.0, 15.0, 11.0, 30.0, 14.0, 13.0, 12.0, 16.0, 250.0, 17.0)
    ]
    requests.append(Request("t", "GET", "/api/items", 500, 50.0))
    summary = summarize("/api/items", requests)
    assert summary.count == 11
    assert summary.errors == 1
    assert summary.error_rate == pytest.approx(1 / 11)
    assert summary.p50_ms == 15.0
    assert summary.p95_ms == 250.0
    assert summary.max_ms == 250.0
    assert summary.mean_ms == pytest.approx(40.0)
