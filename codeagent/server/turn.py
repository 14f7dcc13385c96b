"""``turn_events``: one turn from ``response.created`` to its terminal event, for any transport.

Both shells (a WebSocket connection, an HTTP request) iterate it and put each event on their
wire. The backend's generator is always closed, also when the client leaves mid-stream.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from codeagent.errors import BackendError
from codeagent.protocol.events import ServerEvent
from codeagent.protocol.generation import Finish
from codeagent.protocol.response import Usage
from codeagent.protocol.session import Turn
from codeagent.server.backend import Backend

log = logging.getLogger(__name__)


class TurnEnds(Protocol):
    """Where a turn is settled: ``ConnectionSession`` or ``HttpExchange``."""

    def complete(self, turn: Turn, usage: Usage, *, reason: str = "stop") -> list[ServerEvent]: ...

    def fail(self, turn: Turn, message: str) -> list[ServerEvent]: ...


async def turn_events(
    backend: Backend, turn: Turn, cache: object | None, ends: TurnEnds
) -> AsyncGenerator[ServerEvent, None]:
    for event in turn.builder.start():
        yield event
    try:
        usage, reason = Usage(), "stop"
        if not turn.generate:
            usage = await backend.prepare(turn.prompt, cache)
        else:
            finished = False
            async with contextlib.aclosing(backend.generate(turn.prompt, cache)) as chunks:
                async for chunk in chunks:
                    if isinstance(chunk, Finish):
                        usage, reason, finished = chunk.usage, chunk.reason, True
                        break
                    for event in turn.builder.feed(chunk):
                        yield event
            if not finished:
                raise BackendError(f"backend {backend.name!r} ended without a Finish")
        for event in ends.complete(turn, usage, reason=reason):
            yield event
    except BackendError as exc:
        log.warning("backend failed: %s", exc)
        for event in ends.fail(turn, str(exc)):
            yield event
