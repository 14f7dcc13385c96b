"""``turn_events``: one turn from ``response.created`` to its terminal event, for any transport.

Both shells (a WebSocket connection, an HTTP request) iterate it and put each event on their
wire. The backend's generator is always closed, also when the client leaves mid-stream.

A turn has three ends: completed (or incomplete), failed (``response.failed``, and the parent
response is evicted, PROTOCOL.md), or refused before it started: the backend raised
``InvalidRequest`` before ``Accepted`` (a prompt over the context window), which yields one
``ErrorEvent`` and no response events, evicting nothing. An HTTP shell answers that with a 400.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from codeagent.errors import BackendError, ErrorInfo, InvalidRequest
from codeagent.protocol.events import ServerEvent
from codeagent.protocol.generation import Accepted, Finish
from codeagent.protocol.response import Usage
from codeagent.protocol.session import Turn
from codeagent.server.backend import Backend

log = logging.getLogger(__name__)


class TurnEnds(Protocol):
    """Where a turn is settled: ``ConnectionSession`` or ``HttpExchange``."""

    def complete(self, turn: Turn, usage: Usage, *, reason: str = "stop") -> list[ServerEvent]: ...

    def fail(self, turn: Turn, message: str) -> list[ServerEvent]: ...

    def refuse(self, turn: Turn, info: ErrorInfo) -> list[ServerEvent]: ...


async def turn_events(
    backend: Backend, turn: Turn, cache: object | None, ends: TurnEnds
) -> AsyncGenerator[ServerEvent, None]:
    started = False
    try:
        usage, reason = Usage(), "stop"
        if not turn.generate:
            usage = await backend.prepare(turn.prompt, cache)
            started = True
            for event in turn.builder.start():
                yield event
        else:
            finished = False
            async with contextlib.aclosing(backend.generate(turn.prompt, cache)) as chunks:
                async for chunk in chunks:
                    if not started:
                        started = True
                        for event in turn.builder.start():
                            yield event
                    if isinstance(chunk, Finish):
                        usage, reason, finished = chunk.usage, chunk.reason, True
                        break
                    if not isinstance(chunk, Accepted):
                        for event in turn.builder.feed(chunk):
                            yield event
            if not finished:
                raise BackendError(f"backend {backend.name!r} ended without a Finish")
        for event in ends.complete(turn, usage, reason=reason):
            yield event
    except InvalidRequest as exc:
        if started:  # refusals come before Accepted; later, it is a failure like any other
            for event in ends.fail(turn, exc.info.message):
                yield event
        else:
            for event in ends.refuse(turn, exc.info):
                yield event
    except BackendError as exc:
        log.warning("backend failed: %s", exc)
        for event in _failed(turn, ends, str(exc), started):
            yield event
    except Exception:  # a backend bug must cost one response, never the connection
        log.exception("backend %r crashed", backend.name)
        for event in _failed(turn, ends, "internal error in the model backend", started):
            yield event


def _failed(turn: Turn, ends: TurnEnds, message: str, started: bool) -> list[ServerEvent]:
    return ([] if started else turn.builder.start()) + ends.fail(turn, message)
