"""Must show 2: our client against our server over both transports, bytes read from TurnStats.

A 10-turn chain with a 50 KB static context, short instructions and three tools: the WebSocket
continuation chain sends under 65 KB in all; the HTTP full-resend baseline sends over 500 KB.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.testing.workload import config, run_edit_test_loop, static_context
from codeagent.transport.client import ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.stats import Totals
from codeagent.transport.websocket import websocket_connector

CONTEXT = 50_000
TURNS = 10


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as running:
        yield running


async def test_websocket_chain_sends_the_context_once(server: BackgroundServer) -> None:
    async with ResponsesClient(websocket_connector(server.ws_url), config()) as client:
        stats = await run_edit_test_loop(client, TURNS, static_context(CONTEXT))
    totals = Totals.of(stats)
    assert totals.turns == TURNS
    assert totals.bytes_sent < 65_000, totals
    assert totals.handshakes == 1
    assert stats[0].bytes_sent > CONTEXT
    for turn in stats[1:]:
        assert turn.chained
        assert not turn.retried
        assert turn.bytes_sent < 1_500, turn
        assert turn.full_resend_bytes > CONTEXT
        assert turn.cached_tokens > 0
        assert turn.time_to_first_event is not None
        assert turn.time_to_first_token is not None
    # Every continuation reuses at least everything the previous turn processed.
    for before, after in itertools.pairwise(stats):
        assert after.cached_tokens >= before.input_tokens


async def test_http_full_resend_baseline_sends_it_every_turn(server: BackgroundServer) -> None:
    connector = http_connector(server.base_url)
    async with ResponsesClient(connector, config(chain=False)) as client:
        stats = await run_edit_test_loop(client, TURNS, static_context(CONTEXT))
    totals = Totals.of(stats)
    assert totals.bytes_sent > 500_000, totals
    assert all(not s.chained for s in stats)
    assert all(s.cached_tokens == 0 for s in stats)
    assert totals.handshakes == 1  # keep-alive: a fair baseline


async def test_http_chain_with_store_true(server: BackgroundServer) -> None:
    connector = http_connector(server.base_url)
    async with ResponsesClient(connector, config(store=True)) as client:
        stats = await run_edit_test_loop(client, TURNS, static_context(CONTEXT))
    assert all(s.chained for s in stats[1:])
    assert Totals.of(stats).bytes_sent < 70_000
