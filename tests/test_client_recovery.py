"""ResponsesClient recovers the way PROTOCOL.md says: resend once in full, reconnect, fall back."""

from __future__ import annotations

import asyncio

import pytest

from codeagent.errors import ApiError
from codeagent.protocol.items import FunctionCallOutput, user_message
from codeagent.protocol.session import SessionLimits
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.testing.memory import MemoryServer
from codeagent.testing.workload import TOOLS, config
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.websocket import websocket_connector


async def test_dropped_connection_reconnects_and_resends_in_full() -> None:
    server = MemoryServer(EchoBackend())
    client = ResponsesClient(server.connector, config())
    first = await client.turn([user_message("context " * 50), user_message("one")])
    await server.channels[0].close(1006)  # the network drops the connection
    second = await client.turn([user_message("two")])
    assert second.response.output_text == "echo: two"
    assert second.stats.retried
    assert not second.stats.chained
    assert second.stats.handshakes == 1
    assert len(server.channels) == 2
    # The resend carried the whole conversation: the first turn is in the new chain.
    assert second.stats.input_tokens > first.stats.input_tokens
    third = await client.turn([user_message("three")])
    assert third.stats.chained
    assert third.stats.cached_tokens >= second.stats.input_tokens
    await client.close()
    await server.aclose()


async def test_previous_response_not_found_resends_once_in_full() -> None:
    # Two clients share a store that keeps one response: B's turn evicts A's chain.
    with BackgroundServer(EchoBackend(), ServerConfig(port=0, store_capacity=1)) as server:
        a = ResponsesClient(http_connector(server.base_url), config(store=True))
        b = ResponsesClient(http_connector(server.base_url), config(store=True))
        await a.turn([user_message("a1")])
        await b.turn([user_message("b1")])
        again = await a.turn([user_message("a2")])
        assert again.stats.retried
        assert again.response.output_text == "echo: a2"
        assert [m.text for m in a.history if hasattr(m, "text")] == [
            "a1", "echo: a1", "a2", "echo: a2",
        ]  # fmt: skip
        await a.close()
        await b.close()


async def test_refused_upgrade_falls_back_to_http_sse() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        # A path that does not speak WebSocket, as behind a proxy that refuses upgrades.
        refused = websocket_connector(f"ws://{server.host}:{server.port}/health")
        client = ResponsesClient(
            refused, config(store=True), fallback=http_connector(server.base_url)
        )
        assert await client.warmup([user_message("static context")]) is None  # no warmup on HTTP
        first = await client.turn([user_message("one")])
        second = await client.turn([user_message("two")])
        await client.close()
    assert first.stats.transport == "http"
    assert first.stats.input_tokens > 4  # the static context went with the first turn
    assert second.stats.chained
    assert second.response.output_text == "echo: two"


async def test_rotates_before_the_connection_limit() -> None:
    server = MemoryServer(EchoBackend())
    cfg = ClientConfig(model="m", rotate_after_s=0.2)
    client = ResponsesClient(server.connector, cfg)
    await client.turn([user_message("one")])
    await asyncio.sleep(0.25)
    rotated = await client.turn([user_message("two")])
    assert len(server.channels) == 2
    assert rotated.stats.handshakes == 1
    assert not rotated.stats.chained  # store=false: the new connection has no chain, resend
    assert not rotated.stats.retried  # ...known in advance, so no failed attempt first
    assert rotated.response.output_text == "echo: two"
    await client.close()
    await server.aclose()


async def test_server_lifetime_limit_mid_conversation_reconnects() -> None:
    server = MemoryServer(EchoBackend(), SessionLimits(lifetime_s=0.2))
    client = ResponsesClient(server.connector, config())
    await client.turn([user_message("one")])
    await asyncio.sleep(0.3)  # the server ends the connection with the limit error
    after = await client.turn([user_message("two")])
    assert after.stats.retried
    assert after.response.output_text == "echo: two"
    await client.close()
    await server.aclose()


async def test_function_call_round_trip_over_websocket() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        async with ResponsesClient(websocket_connector(server.ws_url), config()) as client:
            warm = await client.warmup([user_message("static context " * 100)])
            assert warm is not None
            assert not warm.stats.generate
            assert warm.response.output == ()
            call = (await client.turn([user_message("/call run_tests {}")])).response
            assert call.function_calls[0].name == "run_tests"
            assert call.function_calls[0].call_id.startswith("call_")
            answer = await client.turn([FunctionCallOutput(call.function_calls[0].call_id, "ok")])
            assert answer.response.output_text == "run_tests returned: ok"
            assert answer.stats.cached_tokens > warm.stats.input_tokens
            with pytest.raises(ApiError) as bad:
                await client.turn([FunctionCallOutput("call_unknown", "x")])
            assert bad.value.info.status == 400
    assert {t.name for t in TOOLS} >= {"run_tests"}


async def test_a_failed_turn_keeps_its_items_until_dropped() -> None:
    server = MemoryServer(EchoBackend())
    client = ResponsesClient(server.connector, config())
    with pytest.raises(ApiError):
        await client.turn([user_message("/fail now")])
    assert [i.text for i in client.pending] == ["/fail now"]  # type: ignore[union-attr]
    assert [i.text for i in client.drop_pending()] == ["/fail now"]  # type: ignore[union-attr]
    after = await client.turn([user_message("next")])
    assert after.response.output_text == "echo: next"
    fresh = ResponsesClient(server.connector, config())
    alone = await fresh.turn([user_message("next")])
    assert after.stats.input_tokens == alone.stats.input_tokens  # "/fail now" did not go again
    await fresh.close()
    await client.close()
    await server.aclose()
