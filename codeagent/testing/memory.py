"""A whole client-server connection in memory: the real server loop, no sockets."""

from __future__ import annotations

import asyncio

from codeagent.protocol.session import SessionLimits
from codeagent.protocol.store import ResponseStore
from codeagent.server.backend import Backend
from codeagent.server.connection import serve_connection
from codeagent.transport.base import Connector, Transport, WireMeter
from codeagent.transport.memory import MemoryChannel, memory_pair


class MemoryServer:
    """Serves each ``connector`` connection with ``serve_connection`` on this event loop.

    ``channels`` lists the server ends, in connection order, so a test can drop one
    (``await server.channels[0].close(1006)``) as a network would.
    """

    def __init__(self, backend: Backend, limits: SessionLimits | None = None) -> None:
        self.backend = backend
        self.limits = limits or SessionLimits()
        self.store = ResponseStore(1024)
        self.channels: list[MemoryChannel] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connector(self) -> Connector:
        async def open_connection(meter: WireMeter) -> Transport:
            transport, channel = memory_pair(meter)
            self.channels.append(channel)
            task = asyncio.create_task(
                serve_connection(channel, self.backend, self.store, self.limits)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return transport

        return open_connection

    async def aclose(self) -> None:
        for channel in self.channels:
            await channel.close(1001)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
