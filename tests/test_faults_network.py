"""Network faults, survived with nothing lost and a clear message: real sockets, real processes.

- the server is killed (SIGKILL) mid-stream and restarted on the same port: the client
  reconnects, resends the turn with the whole conversation, and the conversation completes;
- the server stalls (sends nothing, or stops mid-stream): the client notices within its idle
  timeout, reconnects and resends; if the new connection stalls too, the turn fails with a
  message that says so (no reconnect loop);
- a client that stops reading costs the server a bounded amount of memory, does not slow other
  connections, and is dropped by the keepalive pings; a client that sends its request head one
  byte at a time (slowloris) is closed at the handshake timeout; a half-open connection (a peer
  that never answers pings) is dropped and its connection count freed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode

from codeagent.cli.fix_settings import merge_fix
from codeagent.cli.main import server_config
from codeagent.cli.settings import merge
from codeagent.errors import ConfigError, ConnectFailed, ConnectionLost
from codeagent.protocol import wire
from codeagent.protocol.items import Message, user_message
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend, render_item
from codeagent.server.run import BackgroundServer
from codeagent.testing.workload import config
from codeagent.transport.base import Connector, Transport, WireMeter
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.websocket import websocket_connector
from tests.conftest import Served, start_serve

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def quick(**extra: Any) -> ClientConfig:
    """Reconnects quickly, and for long enough (about 8 s) to outlast a server restart."""
    return config(reconnect_delay=0.05, reconnect_max_delay=0.2, reconnect_attempts=40, **extra)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(*args: str) -> Iterator[Served]:
    served = start_serve("--backend", "echo", *args)
    try:
        yield served
    finally:
        stop(served.process)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def health(port: int) -> dict[str, object]:
    reply = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    data = reply.json()
    assert isinstance(data, dict)
    return data


def connections(port: int) -> object:
    return health(port)["connections"]


def wait_until(condition: object, timeout: float) -> float:
    """Seconds until ``condition()`` held (polled); fails after ``timeout``."""
    assert callable(condition)
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


def text_of(item: object) -> str:
    assert isinstance(item, Message)
    return item.text


# --- raw WebSocket peers: they do only what the test says --------------------------------------


def upgrade_request(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /v1/responses HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def raw_websocket(port: int, *, receive_buffer: int | None = None) -> socket.socket:
    """A socket that has completed the upgrade and will never read again unless told to."""
    sock = socket.socket()
    if receive_buffer is not None:  # before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(upgrade_request(port))
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # one byte at a time: nothing after the head is taken
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def client_frame(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=True)


def create(text: str) -> str:
    return wire.encode({"type": "response.create", "model": "m", "input": text})


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


# --- servers that stall -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def silent_websocket() -> AsyncIterator[str]:
    """Completes the upgrade, answers pings (the library does), reads every frame and never
    says anything: a model that hangs behind a healthy connection."""

    async def handler(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/responses"


@contextlib.asynccontextmanager
async def dark_websocket() -> AsyncIterator[str]:
    """Answers the upgrade, then neither reads nor writes again: no pong, no closing handshake."""
    held: list[asyncio.StreamWriter] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/responses"
    finally:
        for writer in held:
            writer.close()
        server.close()


@contextlib.asynccontextmanager
async def silent_tcp() -> AsyncIterator[int]:
    """Accepts TCP connections and never answers, not even the upgrade."""
    held: list[asyncio.StreamWriter] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


def in_turn(*connectors: Connector) -> Connector:
    """Each new connection goes to the next connector; the last one serves the rest."""
    made = 0

    async def open_connection(meter: WireMeter) -> Transport:
        nonlocal made
        connector = connectors[min(made, len(connectors) - 1)]
        made += 1
        return await connector(meter)

    return open_connection


# --- the server dies mid-stream -----------------------------------------------------------------


async def test_server_killed_mid_stream_restarts_and_the_turn_completes_in_full() -> None:
    port = free_port()
    args = ("--backend", "echo", "--port", str(port), "--token-delay", "0.01")
    served = await asyncio.to_thread(start_serve, *args)
    restarted: Served | None = None
    try:
        client = ResponsesClient(websocket_connector(served.ws_url), quick())
        first = await client.turn([user_message("context " * 50), user_message("one")])
        long = " ".join(f"w{i}" for i in range(60))
        streaming = asyncio.Event()
        client.on_text = lambda _text: streaming.set()
        notes: list[str] = []
        client.on_recover = notes.append
        turn = asyncio.create_task(client.turn([user_message(long)]))
        await asyncio.wait_for(streaming.wait(), 5)
        served.process.kill()  # SIGKILL: no close frame, no goodbye
        await asyncio.to_thread(served.process.wait, 5)
        restarted = await asyncio.to_thread(start_serve, *args)
        second = await asyncio.wait_for(turn, 10)
        third = await client.turn([user_message("three")])
        await client.close()
    finally:
        stop(served.process)
        if restarted is not None:
            stop(restarted.process)

    assert second.response.output_text == f"echo: {long}"  # complete, not the cut stream
    assert second.stats.retried
    assert second.stats.reconnects == 1
    assert second.stats.handshakes == 1
    assert not second.stats.stalled
    assert len(notes) == 1
    assert notes[0].startswith("the connection was lost (the server went away without a close")
    assert "resent" in notes[0]
    # The new server had nothing: the resend carried the whole conversation, exactly.
    resent = [first.response.output[0], user_message(long)]
    added = sum(len(render_item(item)) for item in resent)
    assert second.stats.input_tokens == first.stats.input_tokens + added
    assert third.stats.chained  # and the chain goes on from the new connection
    assert third.response.output_text == "echo: three"
    texts = [text_of(item) for item in client.history]
    assert texts == [
        "context " * 50, "one", "echo: one", long, f"echo: {long}", "three", "echo: three",
    ]  # fmt: skip


async def test_a_server_that_stays_down_fails_the_turn_after_bounded_tries() -> None:
    with serving("--token-delay", "0.01") as served:
        cfg = config(reconnect_attempts=3, reconnect_delay=0.05, reconnect_max_delay=0.1)
        client = ResponsesClient(websocket_connector(served.ws_url), cfg)
        streaming = asyncio.Event()
        client.on_text = lambda _text: streaming.set()
        turn = asyncio.create_task(client.turn([user_message(" ".join(["word"] * 60))]))
        await asyncio.wait_for(streaming.wait(), 5)
        served.process.kill()
        start = time.monotonic()
        with pytest.raises(ConnectionLost) as lost:
            await asyncio.wait_for(turn, 5)
        elapsed = time.monotonic() - start
    message = str(lost.value)
    assert message.startswith("the connection was lost")
    assert "3 tries to reconnect" in message
    assert "Connect call failed" in message  # the last try's own reason
    assert elapsed < 1.0  # 0.05 + 0.1 s of waiting: bounded, no loop
    assert client.transport is None
    assert [text_of(i) for i in client.pending] == [" ".join(["word"] * 60)]


# --- the server stalls --------------------------------------------------------------------------


@pytest.mark.parametrize("wire_kind", ["websocket", "http"])
async def test_a_stream_that_stops_mid_turn_is_noticed_and_resent(wire_kind: str) -> None:
    # The first server stops after the response has started: a real server whose backend
    # waits a minute before its first token (the stream is open, headers and all, then quiet).
    slow = BackgroundServer(EchoBackend(token_delay=60), ServerConfig(port=0))
    fast = BackgroundServer(EchoBackend(), ServerConfig(port=0))
    with slow, fast:
        if wire_kind == "websocket":
            connect = in_turn(websocket_connector(slow.ws_url), websocket_connector(fast.ws_url))
        else:
            connect = in_turn(http_connector(slow.base_url), http_connector(fast.base_url))
        client = ResponsesClient(connect, quick(idle_timeout=0.5))
        notes: list[str] = []
        client.on_recover = notes.append
        start = time.monotonic()
        result = await client.turn([user_message("hello")])
        elapsed = time.monotonic() - start
        await client.close()
    assert result.response.output_text == "echo: hello"
    assert result.stats.stalled
    assert result.stats.retried
    assert result.stats.reconnects == 1
    assert elapsed < 3.0
    assert len(notes) == 1
    assert "0.5 s" in notes[0]
    assert "resent" in notes[0]


@pytest.mark.parametrize("kind", ["quiet", "dark"])
async def test_a_silent_server_then_a_working_one(kind: str) -> None:
    # quiet: the WebSocket library answers pings and the close; dark: nothing at all, so the
    # client must not wait for a closing handshake before it reconnects.
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as working:
        async with silent_websocket() if kind == "quiet" else dark_websocket() as silent:
            connect = in_turn(websocket_connector(silent), websocket_connector(working.ws_url))
            client = ResponsesClient(connect, quick(idle_timeout=0.4))
            start = time.monotonic()
            result = await client.turn([user_message("context"), user_message("one")])
            elapsed = time.monotonic() - start
            second = await client.turn([user_message("two")])
            await client.close()
    assert result.response.output_text == "echo: one"
    assert result.stats.stalled
    assert result.stats.reconnects == 1
    assert 0.4 <= elapsed < 3.0
    assert second.stats.chained
    texts = [text_of(i) for i in client.history]
    assert texts == ["context", "one", "echo: one", "two", "echo: two"]


async def test_a_server_that_stalls_every_time_fails_the_turn_clearly_and_keeps_it() -> None:
    async with silent_websocket() as silent:
        client = ResponsesClient(websocket_connector(silent), quick(idle_timeout=0.3))
        start = time.monotonic()
        with pytest.raises(ConnectionLost) as lost:
            await client.turn([user_message("one")])
        elapsed = time.monotonic() - start
        await client.close()
    message = str(lost.value)
    assert "no event" in message
    assert "0.3 s" in message
    assert "again" in message  # it says the resend stalled too: one retry, no loop
    assert elapsed < 2.0
    assert [text_of(i) for i in client.pending] == ["one"]  # nothing lost: it goes next turn


async def test_a_server_that_never_answers_the_upgrade_then_one_that_does() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as working:
        async with silent_tcp() as port:
            mute = websocket_connector(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=0.3)
            client = ResponsesClient(in_turn(mute, websocket_connector(working.ws_url)), quick())
            start = time.monotonic()
            with pytest.raises(ConnectFailed) as failed:
                await client.turn([user_message("one")])
            assert time.monotonic() - start < 2.0
            assert "cannot connect" in str(failed.value)
            after = await client.turn([user_message("two")])  # the next attempt works
            await client.close()
    assert after.response.output_text == "echo: two"
    assert [text_of(i) for i in client.history] == ["one", "two", "echo: two"]


# --- the server's side: slow, silent and slow-talking clients -----------------------------------


def test_a_client_that_stops_reading_costs_bounded_memory_and_is_dropped() -> None:
    big = "x" * 1_000_000  # one echo token: each reply is about five frames of 1 MB
    creates = 12
    with serving("--ping-interval", "0.5", "--ping-timeout", "0.5") as served:
        pid = served.process.pid
        warm = raw_websocket(served.port)  # one big reply first, so allocators have grown
        warm.sendall(client_frame(create(big)))
        warm_reply = b""
        while b"response.completed" not in warm_reply[-2_000_000:]:
            warm_reply += warm.recv(1 << 20)
        warm.close()
        wait_until(lambda: connections(served.port) == 0, 5.0)
        before = rss_mib(pid)

        stuck = raw_websocket(served.port, receive_buffer=4096)
        opened = time.monotonic()
        for _ in range(creates):
            stuck.sendall(client_frame(create(big)))
        time.sleep(0.3)  # the server has the creates and writes into a window that is full
        samples = [rss_mib(pid)]

        # Meanwhile another client's turns complete, promptly.
        async def other() -> float:
            client = ResponsesClient(websocket_connector(served.ws_url), config())
            start = time.monotonic()
            for n in range(5):
                reply = await client.turn([user_message(f"turn {n}")])
                assert reply.response.output_text == f"echo: turn {n}"
            await client.close()
            return time.monotonic() - start

        assert asyncio.run(other()) < 1.0

        # No pong comes back through a full window: the keepalive drops it and frees it.
        def gone() -> bool:
            samples.append(rss_mib(pid))
            return connections(served.port) == 0

        wait_until(gone, 5.0)
        dropped = time.monotonic() - opened
        stuck.close()
    # Buffering without bound would hold every reply (about 5 MB each) for the stuck client;
    # what it holds is its queued creates (1 MB each, bounded by SessionLimits) and one reply.
    assert max(samples) - before < 0.5 * creates * 5
    assert dropped < 0.5 + 2 * 0.5 + 1.0


def test_slowloris_upgrade_is_closed_at_the_handshake_timeout() -> None:
    config_ = ServerConfig(port=0, handshake_timeout=0.6)
    with BackgroundServer(EchoBackend(token_delay=0.05), config_) as server:
        request = upgrade_request(server.port)
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.settimeout(0.2)
        start = time.monotonic()
        sent = 0
        closed_after: float | None = None
        reply = b""
        while closed_after is None and time.monotonic() - start < 5:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.send(request[sent : sent + 1])
                sent += 1
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            reply += chunk
            if not chunk:
                closed_after = time.monotonic() - start
        sock.close()
        assert closed_after is not None, "the slow client was never closed"
        assert 0.6 <= closed_after < 1.6
        assert sent < len(request)
        assert reply.startswith(b"HTTP/1.1 408")
        # A client at normal speed is not affected, and its connection outlives the timeout.
        ws = raw_websocket(server.port)
        time.sleep(0.7)
        ws.sendall(client_frame(create("still here")))
        ws.settimeout(5)
        got = b""
        while b"response.completed" not in got:
            got += ws.recv(65536)
        assert b"echo: still here" in got
        ws.close()
        with httpx.Client() as http:  # a reply that streams for longer than the timeout
            words = " ".join(["word"] * 15)  # 17 tokens: 0.85 s
            body = {"model": "m", "input": words, "stream": True}
            streamed = http.post(server.base_url + "/responses", json=body, timeout=5)
            assert streamed.status_code == 200
            assert b"event: response.completed" in streamed.content
            assert f"echo: {words}".encode() in streamed.content
            assert http.get(server.base_url + "/models").status_code == 200  # kept alive


def test_a_half_open_peer_is_dropped_by_keepalive_pings() -> None:
    config_ = ServerConfig(port=0, ping_interval=0.3, ping_timeout=0.3)
    with BackgroundServer(EchoBackend(), config_) as server:
        peer = raw_websocket(server.port)  # upgraded, then never reads and never answers
        assert connections(server.port) == 1
        start = time.monotonic()
        wait_until(lambda: connections(server.port) == 0, 5.0)
        elapsed = time.monotonic() - start
        data = read_until_closed(peer, 5)
        peer.close()
    assert elapsed < 0.3 + 0.3 + 0.5
    assert Frame(Opcode.PING, b"").serialize(mask=False)[:1] in data  # it was pinged
    assert b"keepalive ping timeout" in data  # and told why it was closed (1011)


# --- settings -----------------------------------------------------------------------------------


def test_idle_timeout_is_a_fix_setting(tmp_path: Path) -> None:
    assert merge_fix(tmp_path, {}, {}).idle_timeout == ClientConfig(model="m").idle_timeout == 120
    (tmp_path / ".codeagent.toml").write_text("[fix]\nidle_timeout = 30\n")
    assert merge_fix(tmp_path, {}, {}).idle_timeout == 30
    assert merge_fix(tmp_path, {"CODEAGENT_IDLE_TIMEOUT": "20"}, {}).idle_timeout == 20
    with pytest.raises(ConfigError, match="idle-timeout must be positive"):
        merge_fix(tmp_path, {}, {"idle_timeout": 0})


def test_server_timeouts_are_serve_settings(tmp_path: Path) -> None:
    settings = merge({"ping_interval": 5}, {}, {"handshake_timeout": 3.0, "ping_timeout": 4.0})
    config_ = server_config(settings)
    assert (config_.handshake_timeout, config_.ping_interval, config_.ping_timeout) == (3, 5, 4)
    defaults = server_config(merge({}, {}, {}))
    assert (defaults.handshake_timeout, defaults.ping_interval, defaults.ping_timeout) == (
        10,
        20,
        20,
    )
    with pytest.raises(ConfigError, match="ping-timeout must be positive"):
        merge({}, {}, {"ping_timeout": 0})
