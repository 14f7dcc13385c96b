import pytest

from latency import Request, parse_line, parse_log


def test_parse_line() -> None:
    request = parse_line("2024-05-02T10:00:03Z GET /api/items?page=2 200 35.2ms")
    assert request == Request("2024-05-02T10:00:03Z", "GET", "/api/items", 200, 35.2)
    assert not request.failed


def test_server_errors_are_failures() -> None:
    assert parse_line("t POST /api/orders 503 12ms").failed
    assert not parse_line("t POST /api/orders 404 12ms").failed


@pytest.mark.parametrize("line", ["", "GET /api 200 5ms", "t GET /api 200 fast"])
def test_parse_line_rejects_other_text(line: str) -> None:
    with pytest.raises(ValueError, match="access-log"):
        parse_line(line)


def test_parse_log_skips_blank_lines_and_comments() -> None:
    lines = ["# rotated 2024-05-02", "", "t GET /a 200 1ms", "   ", "t GET /b 200 2ms"]
    assert [request.endpoint for request in parse_log(lines)] == ["/a", "/b"]
