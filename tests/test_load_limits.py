"""``max_connections`` refuses the excess with 503 (the upgrade included), leaving open
connections alone; ``codeagent bench load`` drives many conversations and measures them."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from codeagent.cli.bench_load import load_table, run_load_bench
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer

CREATE = {"type": "response.create", "model": "m", "input": "hi"}


async def health(server: BackgroundServer) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        data = (await http.get(f"http://127.0.0.1:{server.port}/health")).json()
    assert isinstance(data, dict)
    return data


async def wait_for(server: BackgroundServer, **expected: int) -> None:
    deadline = time.monotonic() + 5
    while True:
        data = await health(server)
        if all(data[k] == v for k, v in expected.items()):
            return
        assert time.monotonic() < deadline, data
        await asyncio.sleep(0.02)


async def completes(ws: ClientConnection) -> None:
    await ws.send(json.dumps(CREATE))
    while json.loads(await ws.recv())["type"] != "response.completed":
        pass


def assert_too_many(status: int, headers: httpx.Headers, body: bytes) -> None:
    assert status == 503
    assert headers["retry-after"] == "1"
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_connections"
    assert error["type"] == "server_error"
    assert "2 connections open" in error["message"]
    assert "--max-connections" in error["message"]


async def test_the_upgrade_past_the_limit_is_refused_with_503() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0, max_connections=2)) as server:
        async with connect(server.ws_url) as first, connect(server.ws_url) as second:
            with pytest.raises(InvalidStatus) as refused:
                await connect(server.ws_url)
            response = refused.value.response
            assert_too_many(response.status_code, httpx.Headers(response.headers), response.body)
            # HTTP requests count against the same limit.
            async with httpx.AsyncClient() as http:
                reply = await http.post(server.base_url + "/responses", json=CREATE)
            assert_too_many(reply.status_code, reply.headers, reply.content)
            # The open connections are untouched.
            await completes(first)
            await completes(second)
            await first.close()
            await wait_for(server, connections=1)
            async with connect(server.ws_url) as third:
                await completes(third)
            await completes(second)
        await wait_for(server, connections=0, http_streams=0, max_connections=2)


async def test_an_http_stream_holds_its_place_until_it_ends() -> None:
    backend = EchoBackend(token_delay=0.05)
    with BackgroundServer(backend, ServerConfig(port=0, max_connections=2)) as server:
        async with httpx.AsyncClient() as http, connect(server.ws_url):
            body = {"model": "m", "input": "one two three four", "stream": True}
            url = server.base_url + "/responses"
            async with http.stream("POST", url, json=body) as stream:
                assert stream.status_code == 200
                await wait_for(server, http_streams=1)
                reply = await http.post(url, json={"model": "m", "input": "hi"})
                assert_too_many(reply.status_code, reply.headers, reply.content)
                assert "response.completed" in (await stream.aread()).decode()
            await wait_for(server, http_streams=0)
            ok = await http.post(url, json={"model": "m", "input": "hi"})
            assert ok.status_code == 200
            # A stream the client abandons halfway gives its place back as well.
            async with http.stream("POST", url, json=body) as stream:
                await wait_for(server, http_streams=1)
            await wait_for(server, http_streams=0)


def test_bench_load_echo_both_transports() -> None:
    start = time.monotonic()
    rows, notes = run_load_bench("echo", [8], 2, max_output_tokens=4)
    assert time.monotonic() - start < 10
    assert notes == []
    assert [(r.spec.transport, r.spec.connections) for r in rows] == [("ws", 8), ("http", 8)]
    for row in rows:
        assert (row.errors, row.refused, row.turns_ok) == (0, 0, 16), row.first_error
        assert len(row.ttft) == 16
        p50, p95 = row.ttft_quantile(0.5), row.ttft_quantile(0.95)
        assert p50 is not None
        assert p95 is not None
        assert 0 < p50 <= p95 < row.wall_s
        assert row.turns_per_s > 0
        assert 10 * 1024 * 1024 < row.rss_before <= row.rss_peak
        assert row.rss_after > 0
    table = load_table(rows, notes)
    assert "| WebSocket | 8 | 16 | 0 (0) |" in table
    assert "| HTTP+SSE | 8 | 16 | 0 (0) |" in table


def test_bench_load_counts_refusals() -> None:
    rows, _ = run_load_bench(
        "echo",
        [4],
        1,
        ["ws"],
        server_max_connections=2,
        open_at_once=0,
        serve_args=["--token-delay=0.1"],
    )
    (row,) = rows
    assert row.turns_ok >= 2
    assert row.refused >= 1
    assert row.refused == row.errors == 4 - row.turns_ok
    assert "503" in row.first_error
