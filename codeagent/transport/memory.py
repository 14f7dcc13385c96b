"""An in-memory transport pair: a client ``Transport`` and a server-side channel, no sockets.

``memory_pair()`` returns both ends; hand the channel to ``server.connection.serve_connection``
(``codeagent.testing`` wires the two). Closing either end makes the other's next call raise
``ConnectionLost``, as a dropped socket would.
"""

from __future__ import annotations

import asyncio
import time

from codeagent.errors import ConnectionLost
from codeagent.transport.base import WireMeter

_CLOSED = object()


class _Pipe:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def put(self, text: str) -> None:
        if self.closed:
            raise ConnectionLost("the other end closed")
        self.queue.put_nowait(text)

    async def get(self) -> str:
        item = await self.queue.get()
        if item is _CLOSED:
            self.queue.put_nowait(_CLOSED)
            raise ConnectionLost("the other end closed")
        assert isinstance(item, str)
        return item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(_CLOSED)


class MemoryTransport:
    name = "memory"
    connection_scoped = True
    supports_warmup = True

    def __init__(self, up: _Pipe, down: _Pipe, meter: WireMeter) -> None:
        self._up, self._down = up, down
        self.meter = meter
        self.opened_at = time.monotonic()

    async def send(self, text: str) -> None:
        self._up.put(text)
        self.meter.bytes_sent += len(text.encode())

    async def receive(self) -> str:
        text = await self._down.get()
        self.meter.bytes_received += len(text.encode())
        return text

    async def close(self) -> None:
        self._up.close()
        self._down.close()

    async def abort(self) -> None:
        await self.close()


class MemoryChannel:
    """The server's end; satisfies ``codeagent.server.connection.Channel``."""

    def __init__(self, up: _Pipe, down: _Pipe) -> None:
        self._up, self._down = up, down
        self.close_code: int | None = None
        self.close_reason = ""

    async def receive(self) -> str | bytes:
        return await self._up.get()

    async def send(self, text: str) -> None:
        self._down.put(text)

    async def close(self, code: int, reason: str = "") -> None:
        self.close_code, self.close_reason = code, reason
        self._up.close()
        self._down.close()


def memory_pair(meter: WireMeter) -> tuple[MemoryTransport, MemoryChannel]:
    up, down = _Pipe(), _Pipe()
    meter.handshakes += 1
    return MemoryTransport(up, down, meter), MemoryChannel(up, down)
