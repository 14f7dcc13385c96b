from latency import parse_log, render, summaries

LOG = """\
2024-05-02T10:00:00Z GET /api/items 200 20.0ms
2024-05-02T10:00:01Z GET /api/items?page=2 200 40.0ms
2024-05-02T10:00:02Z POST /api/orders 201 120.5ms
2024-05-02T10:00:03Z POST /api/orders 502 30.0ms
"""


def test_summaries_are_grouped_and_sorted() -> None:
    rows = summaries(parse_log(LOG.splitlines()))
    assert [(row.endpoint, row.count, row.errors) for row in rows] == [
        ("/api/items", 2, 0),
        ("/api/orders", 2, 1),
    ]
    assert rows[0].p95_ms == 40.0


def test_render() -> None:
    table = render(summaries(parse_log(LOG.splitlines())))
    assert table.splitlines() == [
        "endpoint     count  errors  mean   p50    p95    max",
        "/api/items       2      0%  30.0  20.0   40.0   40.0",
        "/api/orders      2     50%  75.2  30.0  120.5  120.5",
    ]


def test_endpoint_without_traffic_is_listed() -> None:
    rows = summaries(parse_log(LOG.splitlines()), endpoints=["/api/health", "/api/items"])
    assert [row.endpoint for row in rows] == ["/api/health", "/api/items", "/api/orders"]
    assert rows[0].count == 0
    assert render(rows).splitlines()[1].split() == ["/api/health", "0", "0%", "-", "-", "-", "-"]
