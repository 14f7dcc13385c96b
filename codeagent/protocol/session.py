"""The server side of one connection, as a state machine with no I/O.

Feed frames with ``receive_frame()``; then call ``next_step(now)`` until it returns ``None``.
A step is one of:

- ``Reply(events)``: send these events; nothing else happens.
- ``Start(turn)``: run the backend on ``turn.prompt`` (or only prepare it when
  ``turn.generate`` is false); once it accepts the prompt send ``turn.builder.start()``, then
  ``turn.builder.feed(chunk)`` per chunk; settle with ``complete(turn, usage)``,
  ``fail(turn, message)``, ``refuse(turn, info)`` (refused before it started) or
  ``abandon(turn)`` (the client left). While a turn runs, ``next_step`` returns ``None``
  (unless the client floods): further creates wait in order (PROTOCOL.md, "one response at a
  time per connection"), and every reply, errors included, comes in request order.
- ``Close(events, code, reason)``: send the events, then close the socket with ``code``.

``HttpExchange`` reuses the same resolution rules for one HTTP request, with no connection cache.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from codeagent.errors import ErrorInfo, InvalidRequest
from codeagent.protocol import wire
from codeagent.protocol.builder import IdSource, ResponseBuilder, random_id
from codeagent.protocol.events import ErrorEvent, ServerEvent, SteerFailed
from codeagent.protocol.generation import Finish, Prompt
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Item
from codeagent.protocol.request import (
    CreateRequest,
    SteerRequest,
    UnknownClientEvent,
    parse_client_frame,
)
from codeagent.protocol.response import Response, Usage
from codeagent.protocol.store import KeptResponse, ResponseStore


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_responses: int = 16
    """Responses kept per connection for ``previous_response_id`` (most recent first)."""
    lifetime_s: float = 3600.0
    """Connection lifetime; at the limit the server sends ``websocket_connection_limit_reached``."""
    max_pending: int = 64
    """Frames that may wait behind a running response before new ones are refused."""
    max_pending_bytes: int = 64 * 1024 * 1024
    """Bytes (characters) of waiting frames before new ones are refused (one always fits)."""
    max_refused: int = 1024
    """Refused frames not yet answered beyond which the client is flooding: the connection is
    closed with 1008 (policy violation)."""


@dataclass(slots=True)
class Turn:
    """One response being produced."""

    request: CreateRequest
    prompt: Prompt
    builder: ResponseBuilder
    parent_id: str | None

    @property
    def generate(self) -> bool:
        return self.request.generate

    @property
    def response_id(self) -> str:
        return self.builder.response.id


@dataclass(frozen=True, slots=True)
class Reply:
    events: list[ServerEvent]


@dataclass(frozen=True, slots=True)
class Start:
    turn: Turn


@dataclass(frozen=True, slots=True)
class Close:
    events: list[ServerEvent]
    code: int
    reason: str = ""


class _Refused:
    """Consecutive refused frames, in their place in the queue."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 1


Step = Reply | Start | Close


def not_found(response_id: str) -> InvalidRequest:
    return wire.invalid(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


class _Chain:
    """Shared rules: resolve ``previous_response_id``, validate call ids, keep results."""

    def __init__(
        self,
        store: ResponseStore,
        local: ResponseStore | None,
        ids: IdSource,
        wall: Callable[[], float],
    ) -> None:
        self.store = store
        self.local = local
        self.ids = ids
        self.wall = wall

    def begin(self, request: CreateRequest) -> Turn:
        """A new turn for ``request``; raises ``InvalidRequest`` (and evicts as the API does)."""
        parent: KeptResponse | None = None
        history: tuple[Item, ...] = ()
        if request.previous_response_id is not None:
            parent = self._find(request.previous_response_id)
            if parent is None:
                raise not_found(request.previous_response_id)
            history = parent.conversation
        answered = parent.call_ids if parent else frozenset()
        answered |= {i.call_id for i in request.input if isinstance(i, FunctionCall)}
        for item in request.input:
            if isinstance(item, FunctionCallOutput) and item.call_id not in answered:
                # A failed continuation evicts the response it continued from (PROTOCOL.md).
                if parent is not None:
                    self.evict(parent.response.id)
                raise wire.invalid(
                    f"No tool call found for function call output with call_id {item.call_id}.",
                    param="input",
                )
        response = Response.start(self.ids("resp"), int(self.wall()), request)
        builder = ResponseBuilder(response, ids=self.ids, wall=self.wall)
        prompt = Prompt.of(request, history + request.input)
        return Turn(request, prompt, builder, request.previous_response_id)

    def complete(self, turn: Turn, usage: Usage, reason: str) -> list[ServerEvent]:
        events = turn.builder.feed(Finish(usage, reason))
        response = turn.builder.response
        kept = KeptResponse(response, turn.prompt.items + response.output)
        if self.local is not None:
            self.local.put(kept)
        if response.store:
            self.store.put(kept)
        return events

    def fail(self, turn: Turn, message: str) -> list[ServerEvent]:
        events = turn.builder.fail(message)
        if turn.parent_id is not None:
            self.evict(turn.parent_id)
        return events

    def refuse(self, turn: Turn, info: ErrorInfo) -> list[ServerEvent]:
        """The backend refused the prompt before starting (``context_length_exceeded``): an
        ``error`` event, no response, and the parent stays (a retry with less may follow)."""
        return [ErrorEvent(info)]

    def evict(self, response_id: str) -> None:
        if self.local is not None:
            self.local.evict(response_id)
        self.store.evict(response_id)

    def _find(self, response_id: str) -> KeptResponse | None:
        kept = self.local.get(response_id) if self.local is not None else None
        return kept or self.store.get(response_id)


class ConnectionSession:
    """The state of one WebSocket connection. See the module docstring for the call order."""

    def __init__(
        self,
        store: ResponseStore,
        *,
        limits: SessionLimits | None = None,
        opened_at: float = 0.0,
        ids: IdSource = random_id,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or SessionLimits()
        self.deadline = opened_at + self.limits.lifetime_s
        self._rules = _Chain(store, ResponseStore(self.limits.max_responses), ids, wall)
        self._pending: deque[str | bytes | _Refused] = deque()
        self._queued = 0
        """Frames in ``_pending`` (refusals not counted)."""
        self._queued_bytes = 0
        self._refused = 0
        """Refused frames whose error is not sent yet."""
        self.running: Turn | None = None
        self.flooded = False
        """More than ``max_refused`` refusals outstanding: the shell must stop reading and
        take the ``Close`` step ``next_step`` now returns, even while a turn runs."""
        self.closed = False

    def receive_frame(self, frame: str | bytes) -> None:
        """Queue one text frame from the client.

        Past ``max_pending`` frames (or ``max_pending_bytes``) a frame is refused; its
        ``too_many_pending_requests`` error takes the frame's place in the queue, so replies
        still come in request order. Consecutive refusals share one queue entry, so a flood
        costs a counter, not memory, until ``max_refused`` makes the connection ``flooded``.
        """
        if self.closed or self.flooded:
            return
        size = len(frame)
        over = self._queued_bytes + size > self.limits.max_pending_bytes and self._queued > 0
        if self._queued >= self.limits.max_pending or over:
            self._refused += 1
            if self._refused > self.limits.max_refused:
                self.flooded = True
            elif self._pending and isinstance(self._pending[-1], _Refused):
                self._pending[-1].count += 1
            else:
                self._pending.append(_Refused())
            return
        self._pending.append(frame)
        self._queued += 1
        self._queued_bytes += size

    def next_step(self, now: float) -> Step | None:
        """What to do next, or ``None`` while a turn runs or nothing is queued."""
        if self.closed:
            return None
        if self.flooded:
            self.closed = True
            return Close([], 1008, "too many pending requests")
        if now >= self.deadline and self.running is None:
            self.closed = True
            info = ErrorInfo(
                400,
                "invalid_request_error",
                "websocket_connection_limit_reached",
                "Responses websocket connection limit reached "
                f"({self.limits.lifetime_s:.0f} seconds). Create a new websocket connection "
                "to continue.",
            )
            return Close([ErrorEvent(info)], 1000)
        if self.running is not None or not self._pending:
            return None
        head = self._pending.popleft()
        if isinstance(head, _Refused):
            self._refused -= 1
            head.count -= 1
            if head.count:
                self._pending.appendleft(head)
            info = ErrorInfo(
                429, "invalid_request_error", "too_many_pending_requests",
                f"More than {self.limits.max_pending} requests were waiting on this connection.",
            )  # fmt: skip
            return Reply([ErrorEvent(info)])
        self._queued -= 1
        self._queued_bytes -= len(head)
        return self._handle(head)

    def complete(self, turn: Turn, usage: Usage, *, reason: str = "stop") -> list[ServerEvent]:
        """The backend finished (for a warmup: prepared); returns the closing events."""
        self.running = None
        return self._rules.complete(turn, usage, reason)

    def fail(self, turn: Turn, message: str) -> list[ServerEvent]:
        """The backend failed: ``response.failed``, and the parent is evicted."""
        self.running = None
        return self._rules.fail(turn, message)

    def refuse(self, turn: Turn, info: ErrorInfo) -> list[ServerEvent]:
        """The backend refused the prompt before the response started: an ``error`` event."""
        self.running = None
        return self._rules.refuse(turn, info)

    def abandon(self, turn: Turn) -> None:
        """The client went away mid-turn; nothing is kept."""
        if self.running is turn:
            self.running = None

    def _handle(self, frame: str | bytes) -> Step:
        event: CreateRequest | SteerRequest | UnknownClientEvent | None = None
        try:
            event = parse_client_frame(frame)
            if isinstance(event, UnknownClientEvent):
                raise wire.invalid(
                    f"Unknown event type '{event.type}'.", param="type", code="unknown_event_type"
                )
            if isinstance(event, SteerRequest):
                return Reply(
                    [
                        SteerFailed(
                            event.previous_response_id,
                            "steering_not_supported",
                            "This server does not support steering.",
                            event.data,
                        )
                    ]
                )
            self.running = self._rules.begin(event)
            return Start(self.running)
        except InvalidRequest as exc:
            lane = event.stream_id if isinstance(event, CreateRequest) else None
            return Reply([ErrorEvent(exc.info, extra={"stream_id": lane} if lane else {})])


class HttpExchange:
    """One ``POST /v1/responses``: ``previous_response_id`` resolves only from the shared store."""

    def __init__(
        self,
        store: ResponseStore,
        *,
        ids: IdSource = random_id,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._rules = _Chain(store, None, ids, wall)

    def begin(self, request: CreateRequest) -> Turn:
        """Raises ``InvalidRequest``: answer it with an HTTP status before any stream starts."""
        if not request.generate:
            raise wire.invalid(
                "generate is only supported in WebSocket mode.",
                param="generate",
                code="unsupported",
            )
        return self._rules.begin(request)

    def complete(self, turn: Turn, usage: Usage, *, reason: str = "stop") -> list[ServerEvent]:
        return self._rules.complete(turn, usage, reason)

    def fail(self, turn: Turn, message: str) -> list[ServerEvent]:
        return self._rules.fail(turn, message)

    def refuse(self, turn: Turn, info: ErrorInfo) -> list[ServerEvent]:
        return self._rules.refuse(turn, info)
