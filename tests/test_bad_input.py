"""Must show 3: bad input gets the right error and the socket stays usable (real sockets)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from codeagent.protocol.generation import Chunk, Prompt
from codeagent.protocol.session import SessionLimits
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer

MAX_FRAME = 64 * 1024
TERMINAL = {"response.completed", "response.failed", "response.incomplete", "error"}


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    backend = EchoBackend(token_delay=0.02)
    with BackgroundServer(backend, ServerConfig(port=0, max_frame_bytes=MAX_FRAME)) as running:
        yield running


async def events_until_done(ws: ClientConnection) -> list[dict[str, Any]]:
    events = []
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        events.append(event)
        if event["type"] in TERMINAL:
            return events


async def drain(ws: ClientConnection) -> None:
    """Read until the server closes the connection."""
    while True:
        await asyncio.wait_for(ws.recv(), 10)


async def still_usable(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "ping"}))
    done = (await events_until_done(ws))[-1]
    assert done["type"] == "response.completed"
    assert done["response"]["output"][0]["content"][0]["text"] == "echo: ping"


async def error_for(ws: ClientConnection, frame: str | bytes) -> dict[str, Any]:
    await ws.send(frame)
    event = (await events_until_done(ws))[-1]
    assert event["type"] == "error"
    assert event["status"] == 400
    assert event["error"]["type"] == "invalid_request_error"
    await still_usable(ws)
    return dict(event["error"])


async def test_non_json_frame(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        assert (await error_for(ws, "this is {not json"))["code"] == "invalid_json"
        assert (await error_for(ws, "[1, 2, 3]"))["code"] == "invalid_json"
        assert (await error_for(ws, b"\xff\xfe binary junk"))["code"] == "invalid_json"


async def test_unknown_event_type(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        error = await error_for(ws, json.dumps({"type": "response.explode", "model": "m"}))
        assert error["code"] == "unknown_event_type"
        assert error["param"] == "type"


async def test_create_without_model(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        error = await error_for(ws, json.dumps({"type": "response.create", "input": "hi"}))
        assert error["code"] == "missing_required_parameter"
        assert error["param"] == "model"


async def test_wrongly_typed_fields(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        frame = {"type": "response.create", "model": "m", "input": 42}
        assert (await error_for(ws, json.dumps(frame)))["param"] == "input"
        frame = {"type": "response.create", "model": "m", "store": "yes"}
        assert (await error_for(ws, json.dumps(frame)))["code"] == "invalid_type"
        frame = {"type": "response.create", "model": "m", "input": [{"type": "function_call"}]}
        assert (await error_for(ws, json.dumps(frame)))["param"] == "input[0].call_id"


async def test_unknown_previous_response_id(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        frame = {"type": "response.create", "model": "m", "previous_response_id": "resp_x"}
        error = await error_for(ws, json.dumps(frame))
        assert error["code"] == "previous_response_not_found"
        assert error["param"] == "previous_response_id"


async def test_oversize_frame_closes_with_1009(server: BackgroundServer) -> None:
    async with connect(server.ws_url, max_size=None) as ws:
        big = json.dumps({"type": "response.create", "model": "m", "input": "x" * MAX_FRAME})
        await ws.send(big)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
    # The server itself is fine.
    async with connect(server.ws_url) as ws:
        await still_usable(ws)


async def test_second_create_while_one_runs_is_queued_in_order(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        slow = "a long answer " * 10  # 30 tokens at 20 ms each: still running when #2 arrives
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": slow}))
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "second"}))
        first = await events_until_done(ws)
        second = await events_until_done(ws)
    assert first[-1]["type"] == "response.completed"
    assert second[-1]["type"] == "response.completed"
    first_id, second_id = first[0]["response"]["id"], second[0]["response"]["id"]
    assert first_id != second_id
    # Every event of the first response came before any of the second.
    assert all(e.get("response", {}).get("id", first_id) == first_id for e in first)
    assert second[-1]["response"]["output"][0]["content"][0]["text"] == "echo: second"
    assert [e["sequence_number"] for e in second] == list(range(len(second)))


async def test_steering_is_refused_politely(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "response.steer", "previous_response_id": "resp_1"}))
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert event["type"] == "response.steer.failed"
        assert event["error"]["code"] == "steering_not_supported"
        await still_usable(ws)


async def test_client_dropping_mid_stream_does_not_hurt_others(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as other:
        dropper = await connect(server.ws_url)
        frame = {"type": "response.create", "model": "m", "input": "stream me " * 20}
        await dropper.send(json.dumps(frame))
        while json.loads(await dropper.recv())["type"] != "response.output_text.delta":
            pass
        dropper.transport.abort()  # no close handshake: as a crashed client would
        await still_usable(other)
    async with connect(server.ws_url) as fresh:
        await still_usable(fresh)
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"http://{server.host}:{server.port}/health")).json()
    assert health["status"] == "ok"


async def test_http_bad_requests_get_statuses(server: BackgroundServer) -> None:
    url = server.base_url + "/responses"
    async with httpx.AsyncClient() as http:
        not_json = await http.post(url, content=b"{nope")
        assert not_json.status_code == 400
        assert not_json.json()["error"]["code"] == "invalid_json"
        no_model = await http.post(url, json={"input": "hi"})
        assert no_model.status_code == 400
        assert no_model.json()["error"]["param"] == "model"
        too_big = await http.post(url, content=b"x" * (MAX_FRAME + 1))
        assert too_big.status_code == 413
        warmup = await http.post(url, json={"model": "m", "input": "x", "generate": False})
        assert warmup.status_code == 400


# --- values that are valid JSON text, or nearly, but not valid requests -------------------


async def test_a_lone_surrogate_is_a_400_not_a_dead_socket(server: BackgroundServer) -> None:
    async with connect(server.ws_url) as ws:
        # json.dumps writes the lone surrogate as the escape "\ud800": valid JSON text.
        frame = json.dumps({"type": "response.create", "model": "m", "input": "a\ud800b"})
        assert "\\ud800" in frame
        error = await error_for(ws, frame)
        assert (error["code"], error["param"]) == ("invalid_value", "input")
        items = [{"role": "user", "content": [{"type": "input_text", "text": "\udfff"}]}]
        frame = json.dumps({"type": "response.create", "model": "m", "input": items})
        assert (await error_for(ws, frame))["param"] == "input[0].content[0].text"
        # A surrogate pair written as two escapes is one real character, and fine.
        paired = json.dumps({"type": "response.create", "model": "m", "input": "\U0001f600"})
        assert "\\ud83d\\ude00" in paired
        await ws.send(paired)
        done = (await events_until_done(ws))[-1]
        assert done["response"]["output"][0]["content"][0]["text"] == "echo: \U0001f600"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_json_numbers_are_invalid_json(server: BackgroundServer, constant: str) -> None:
    async with connect(server.ws_url) as ws:
        frame = '{"type":"response.create","model":"m","input":"x","temperature":' + constant + "}"
        assert (await error_for(ws, frame))["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"metadata": {"seed": "²"}}, "metadata.seed", "invalid_value"),  # isdigit() is True
        ({"metadata": {"seed": "1" * 30}}, "metadata.seed", "invalid_value"),
        ({"temperature": 10**400}, "temperature", "decimal_above_max_value"),
        ({"top_p": -(10**400)}, "top_p", "decimal_below_min_value"),
        ({"temperature": 2.5}, "temperature", "decimal_above_max_value"),
    ],
)
async def test_malformed_values_are_400s_and_queued_creates_survive(
    server: BackgroundServer, fields: dict[str, Any], param: str, code: str
) -> None:
    bad = json.dumps({"type": "response.create", "model": "m", "input": "x", **fields})
    async with connect(server.ws_url) as ws:
        # Pipelined: the bad create and a good one behind it, answered in order.
        await ws.send(bad)
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "next"}))
        error = (await events_until_done(ws))[-1]
        assert (error["type"], error["status"]) == ("error", 400)
        assert (error["error"]["param"], error["error"]["code"]) == (param, code)
        done = (await events_until_done(ws))[-1]
        assert done["response"]["output"][0]["content"][0]["text"] == "echo: next"
    async with httpx.AsyncClient() as http:
        reply = await http.post(server.base_url + "/responses", content=bad.encode())
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == param


async def test_http_refuses_a_lone_surrogate_and_nan(server: BackgroundServer) -> None:
    url = server.base_url + "/responses"
    async with httpx.AsyncClient() as http:
        surrogate = await http.post(url, content=b'{"model":"m","input":"\\ud800"}')
        assert surrogate.status_code == 400
        assert surrogate.json()["error"]["code"] == "invalid_value"
        # The same surrogate as raw (CESU-style) bytes: still not UTF-8 text.
        raw = await http.post(url, content=b'{"model":"m","input":"\xed\xa0\x80"}')
        assert raw.status_code == 400
        nan = await http.post(url, content=b'{"model":"m","input":"x","top_p":NaN}')
        assert nan.status_code == 400
        assert nan.json()["error"]["code"] == "invalid_json"


# --- a prompt over the context window ----------------------------------------------------


@pytest.fixture(scope="module")
def small_window() -> Iterator[BackgroundServer]:
    backend = EchoBackend(context_tokens=40)
    with BackgroundServer(backend, ServerConfig(port=0)) as running:
        yield running


async def test_over_the_context_window_is_a_400_that_keeps_the_parent(
    small_window: BackgroundServer,
) -> None:
    async with connect(small_window.ws_url) as ws:
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hello"}))
        parent = (await events_until_done(ws))[-1]["response"]["id"]
        too_long = {"type": "response.create", "model": "m", "previous_response_id": parent,
                    "input": "word " * 100}  # fmt: skip
        await ws.send(json.dumps(too_long))
        events = await events_until_done(ws)
        assert [e["type"] for e in events] == ["error"]  # refused: no response was started
        assert events[0]["status"] == 400
        assert events[0]["error"]["code"] == "context_length_exceeded"
        # The parent was not evicted: the client can retry with less (Codex compacts).
        retry = {"type": "response.create", "model": "m", "previous_response_id": parent,
                 "input": "again"}  # fmt: skip
        await ws.send(json.dumps(retry))
        done = (await events_until_done(ws))[-1]
        assert done["type"] == "response.completed"
        assert done["response"]["output"][0]["content"][0]["text"] == "echo: again"
    async with httpx.AsyncClient() as http:
        for stream in (False, True):
            body = {"model": "m", "input": "word " * 100, "stream": stream}
            reply = await http.post(small_window.base_url + "/responses", json=body)
            assert reply.status_code == 400
            assert reply.json()["error"]["code"] == "context_length_exceeded"


# --- a client that goes away, a client that floods ---------------------------------------


class Watched(EchoBackend):
    """Echo with a slow prefill (a second a token) that records when its work ends."""

    def __init__(self) -> None:
        super().__init__(prefill_delay=1.0)
        self.generations = 0
        self.ended = threading.Event()
        self.released = threading.Event()

    async def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        self.generations += 1
        try:
            async for chunk in super().generate(prompt, cache):
                yield chunk
        finally:
            self.ended.set()

    def close_cache(self, cache: object) -> None:
        super().close_cache(cache)
        self.released.set()


async def test_a_client_gone_mid_prefill_cancels_its_work_at_once() -> None:
    backend = Watched()
    with BackgroundServer(backend, ServerConfig(port=0)) as running:
        ws = await connect(running.ws_url)
        long = {"type": "response.create", "model": "m", "input": "token " * 60}  # a minute
        await ws.send(json.dumps(long))
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "queued"}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "response.created"  # the prefill is under way
        ws.transport.abort()  # the TCP connection drops, no close handshake
        # Before: the server prefilled to the end and noticed only at its first send.
        assert await asyncio.to_thread(backend.ended.wait, 5), "the prefill was not cancelled"
        assert await asyncio.to_thread(backend.released.wait, 5), "the cache was kept"
        assert backend.generations == 1  # the queued create never started


@pytest.fixture(scope="module")
def two_pending() -> Iterator[BackgroundServer]:
    limits = SessionLimits(max_pending=2)
    backend = EchoBackend(token_delay=0.02)
    with BackgroundServer(backend, ServerConfig(port=0, limits=limits)) as running:
        yield running


async def test_refusals_of_a_full_queue_come_in_request_order(
    two_pending: BackgroundServer,
) -> None:
    async with connect(two_pending.ws_url) as ws:
        slow = "a long answer" * 10  # 30 tokens at 20 ms: the rest arrive while it runs
        await ws.send(json.dumps({"type": "response.create", "model": "m", "input": slow}))
        assert json.loads(await ws.recv())["type"] == "response.created"
        for text in ("one", "two", "three", "four"):
            await ws.send(json.dumps({"type": "response.create", "model": "m", "input": text}))
        replies = []
        for _ in range(5):
            last = (await events_until_done(ws))[-1]
            if last["type"] == "error":
                replies.append(last["error"]["code"])
            else:
                replies.append(last["response"]["output"][0]["content"][0]["text"])
    assert replies == [
        "echo: " + slow,
        "echo: one",
        "echo: two",
        "too_many_pending_requests",
        "too_many_pending_requests",
    ]


async def test_a_flooding_client_is_closed_with_1008(two_pending: BackgroundServer) -> None:
    async with connect(two_pending.ws_url) as ws:
        slow = {"type": "response.create", "model": "m", "input": "a long answer " * 10}
        await ws.send(json.dumps(slow))
        for _ in range(SessionLimits().max_refused + 100):
            await ws.send("{}")
        with pytest.raises(ConnectionClosed) as closed:
            await drain(ws)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            1008,
            "too many pending requests",
        )
    async with connect(two_pending.ws_url) as other:
        await still_usable(other)
