"""The async shell around ``ConnectionSession``: one task per WebSocket connection.

A reader task queues frames into the session as they arrive (so a create sent while another runs
waits its turn, in order); the main loop takes the session's steps and runs each turn as a task
of its own while it watches the reader. The reader ends when the client is gone (or floods), and
then the running turn is cancelled at once: its backend stops at its next compute step and the
connection's cache is released, and queued creates are dropped. Nothing waits for a send to
fail to find out that nobody is listening. The shell works over any ``Channel``: the Starlette
WebSocket in production, an in-memory channel in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from codeagent.errors import ConnectionLost
from codeagent.protocol import wire
from codeagent.protocol.events import ServerEvent, encode_event
from codeagent.protocol.session import Close, ConnectionSession, Reply, SessionLimits, Turn
from codeagent.protocol.store import ResponseStore
from codeagent.server.backend import Backend
from codeagent.server.turn import turn_events

log = logging.getLogger(__name__)


class Channel(Protocol):
    """One message-oriented connection to one client."""

    async def receive(self) -> str | bytes:
        """The next message; raises ``ConnectionLost`` when the client is gone."""
        ...

    async def send(self, text: str) -> None:
        """Raises ``ConnectionLost`` when the client is gone."""
        ...

    async def close(self, code: int, reason: str = "") -> None: ...


async def serve_connection(
    channel: Channel,
    backend: Backend,
    store: ResponseStore,
    limits: SessionLimits,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Serve one connection until the client leaves or the server closes it."""
    session = ConnectionSession(store, limits=limits, opened_at=clock())
    cache = backend.open_cache()
    wake = asyncio.Event()

    async def read() -> None:
        """Until the client leaves (``ConnectionLost``) or floods (returns)."""
        while not session.flooded:
            session.receive_frame(await channel.receive())
            wake.set()

    reader = asyncio.create_task(read())
    try:
        while True:
            if reader.done() and not session.flooded:
                return  # the client left: what it queued goes with it
            step = session.next_step(clock())
            if step is None:
                wake.clear()
                waiter = asyncio.create_task(wake.wait())
                await asyncio.wait(
                    {waiter, reader},
                    timeout=max(0.0, session.deadline - clock()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
            elif isinstance(step, Reply):
                await _send_all(channel, step.events)
            elif isinstance(step, Close):
                await _send_all(channel, step.events)
                await channel.close(step.code, step.reason)
                return
            else:
                await _watched(_run_turn(channel, backend, session, step.turn, cache), reader)
    except ConnectionLost:
        log.debug("client left")
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionLost):
            await reader
        backend.close_cache(cache)


async def _watched(work: Awaitable[None], reader: asyncio.Task[None]) -> None:
    """Run ``work`` unless the reader ends first (client gone or flooding): then cancel it.
    Exceptions of ``work`` that ran to its end propagate."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this connection's task is cancelled (server shutdown)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionLost):
                await task
    if not task.cancelled():
        task.result()


async def _run_turn(
    channel: Channel, backend: Backend, session: ConnectionSession, turn: Turn, cache: object
) -> None:
    try:
        # All lanes run in order on this connection; each event still names its lane.
        lane = {"stream_id": turn.request.stream_id} if turn.request.stream_id else {}
        async with contextlib.aclosing(turn_events(backend, turn, cache, session)) as events:
            async for event in events:
                await channel.send(wire.encode({**event.to_json(), **lane}))
    finally:
        session.abandon(turn)


async def _send_all(channel: Channel, events: Iterable[ServerEvent]) -> None:
    for event in events:
        await channel.send(encode_event(event))
