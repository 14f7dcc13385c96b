"""``ResponsesClient``: one conversation over one persistent connection, chained turn by turn.

The conversation is ``history`` (items the server has seen in the chain ending at
``last_response_id``) plus ``pending`` (items not yet sent). A turn sends, as a continuation,
``previous_response_id`` + only the pending items, with the request fields the API does not
inherit (model, instructions, tools; PROTOCOL.md). It resends the turn once with the whole
conversation and no ``previous_response_id`` when:

- the server answers ``previous_response_not_found`` (new connection, eviction, store=false);
- the connection dropped mid-turn, hit its lifetime limit, or went silent for ``idle_timeout``
  (a stalled server): it drops the connection and reconnects first, trying again with a
  doubling wait (``reconnect_attempts``), so a server restarting on the same port is waited
  for. Each recovery is reported through ``on_recover`` and counted in ``TurnStats``; a resend
  that fails as well fails the turn with a message that says both (no reconnect loop).

If the WebSocket upgrade is refused it falls back to the ``fallback`` connector (HTTP+SSE), and
it rotates the connection before ``rotate_after_s`` so the server's limit never cuts a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from codeagent.errors import (
    ApiError,
    ConnectFailed,
    ConnectionLimitReached,
    ConnectionLost,
    ErrorInfo,
    PreviousResponseNotFound,
    UpgradeRefused,
)
from codeagent.protocol.accumulator import StreamAccumulator
from codeagent.protocol.events import TextEvent, parse_server_event
from codeagent.protocol.items import Item
from codeagent.protocol.request import CreateRequest, Tool
from codeagent.protocol.response import Response
from codeagent.transport.base import Connector, Transport, WireMeter
from codeagent.transport.stats import TurnStats


@dataclass(frozen=True, slots=True)
class ClientConfig:
    model: str
    instructions: str | None = None
    """Short: sent with every request, since the API does not chain it."""
    tools: tuple[Tool, ...] = ()
    """Compact definitions: sent with every request, like the instructions."""
    store: bool = False
    chain: bool = True
    """Continue with ``previous_response_id``; false resends the whole conversation each turn."""
    rotate_after_s: float = 55 * 60
    """Open a fresh connection before this age (the server's limit is 60 minutes)."""
    temperature: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    idle_timeout: float = 120.0
    """Seconds the server may stay silent while a turn awaits it (sending the request, or the
    next event) before the connection is taken for dead: the client then reconnects and resends
    the turn. A prefill sends nothing until its first token, and a ~1,900-token one on the CPU
    llama backend of a loaded 2-core machine was silent for over 60 s (a false stall costs a
    whole second prefill); still well under the 300 s after which users report stalled turns."""
    reconnect_attempts: int = 6
    """Tries to open a new connection after one fails mid-turn, before the turn fails."""
    reconnect_delay: float = 0.25
    """Wait after the first failed try; it doubles after each one, up to ``reconnect_max_delay``
    (the defaults wait about 8 s in all: long enough for a server to restart)."""
    reconnect_max_delay: float = 4.0

    def request(
        self, input: tuple[Item, ...], previous: str | None, generate: bool
    ) -> CreateRequest:
        return CreateRequest(
            model=self.model,
            input=input,
            instructions=self.instructions,
            tools=self.tools,
            previous_response_id=previous,
            store=self.store,
            temperature=self.temperature,
            max_output_tokens=self.max_output_tokens,
            metadata=self.metadata,
            generate=generate,
        )


T = TypeVar("T")


class _Stalled(ConnectionLost):
    """The server sent nothing for ``idle_timeout`` seconds while a turn awaited it."""


@dataclass(frozen=True, slots=True)
class TurnResult:
    response: Response
    stats: TurnStats


class ResponsesClient:
    def __init__(
        self,
        connect: Connector,
        config: ClientConfig,
        *,
        fallback: Connector | None = None,
        clock: Callable[[], float] = time.perf_counter,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._connect = connect
        self._fallback = fallback
        self._clock = clock
        self._monotonic = monotonic
        self.meter = WireMeter()
        self.transport: Transport | None = None
        self.history: list[Item] = []
        self.pending: list[Item] = []
        self.last_response_id: str | None = None
        self._chain_on_connection = False
        """True while ``last_response_id`` lives in this connection's cache (or in the store)."""
        self.stats: list[TurnStats] = []
        self.on_text: Callable[[str], None] | None = None
        """Called with each text delta as it arrives (an interface streaming the reply)."""
        self.on_recover: Callable[[str], None] | None = None
        """Called with a sentence for the user when a turn recovers from a dropped, stalled or
        expired connection (before the resend streams: its deltas start the reply again)."""

    async def __aenter__(self) -> ResponsesClient:
        # The connection opens with the first turn, so its handshake is counted in that turn.
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.transport is not None:
            transport, self.transport = self.transport, None
            with contextlib.suppress(ConnectionLost):
                await transport.close()

    async def warmup(self, items: Sequence[Item]) -> TurnResult | None:
        """Send ``items`` (the static context) with ``generate: false`` where the transport has
        it; elsewhere keep them pending for the next turn. The warmup's id chains. Opening the
        connection to find out is counted in the warmup's stats."""
        before = self.meter.snapshot()
        await self._ensure_open()
        assert self.transport is not None
        if not self.transport.supports_warmup:
            self.pending.extend(items)
            return None
        return await self._turn(items, False, before)

    def drop_pending(self) -> list[Item]:
        """Give up the items of a turn that raised; otherwise they go again with the next turn
        (a failed turn loses nothing). Returns what was dropped."""
        dropped, self.pending = self.pending, []
        return dropped

    def forget(self) -> None:
        """Start a new conversation on the same connection (the old chain is dropped): what a
        client does after ``context_length_exceeded``, before sending a compacted history."""
        self.history, self.pending = [], []
        self.last_response_id = None
        self._chain_on_connection = False

    async def turn(self, items: Sequence[Item], *, generate: bool = True) -> TurnResult:
        """Send ``items`` as the next turn and wait for the whole response. If it raises, the
        items stay pending: the next turn sends them again unless ``drop_pending`` is called."""
        return await self._turn(items, generate, self.meter.snapshot())

    async def _turn(
        self, items: Sequence[Item], generate: bool, before: tuple[int, int, int]
    ) -> TurnResult:
        self.pending.extend(items)
        start = self._clock()
        await self._rotate_if_old()
        await self._ensure_open()
        full = self.config.request(tuple(self.history + self.pending), None, generate)
        chained = self._can_chain()
        request = (
            self.config.request(tuple(self.pending), self.last_response_id, generate)
            if chained
            else full
        )
        retried = stalled = False
        reconnects = 0
        try:
            response, ttfe, ttft = await self._exchange(request, start)
        except PreviousResponseNotFound:
            retried = True
            response, ttfe, ttft = await self._exchange(full, start)
        except (ConnectionLost, ConnectionLimitReached) as exc:
            retried, stalled, reconnects = True, isinstance(exc, _Stalled), 1
            fault = _fault(exc)
            await self._reconnect_after(fault)
            try:
                response, ttfe, ttft = await self._exchange(full, start)
            except ConnectionLost as again:
                await self._drop()
                raise ConnectionLost(
                    f"{fault}; reconnected, and the resent turn failed again: {again}"
                ) from again
        if response.status == "failed":
            info = response.error or ErrorInfo(500, "server_error", None, "response failed")
            raise ApiError(info._replace(status=500))
        self.history += self.pending + list(response.output)
        self.pending = []
        self.last_response_id = response.id
        self._chain_on_connection = True
        sent, received, handshakes = (
            a - b for a, b in zip(self.meter.snapshot(), before, strict=True)
        )
        usage = response.usage
        stats = TurnStats(
            index=len(self.stats),
            transport=self.transport.name if self.transport else "?",
            response_id=response.id,
            status=response.status,
            generate=generate,
            chained=chained and not retried,
            retried=retried,
            bytes_sent=sent,
            bytes_received=received,
            handshakes=handshakes,
            full_resend_bytes=len(full.ws_frame().encode()),
            time_to_first_event=ttfe,
            time_to_first_token=ttft,
            total_time=self._clock() - start,
            input_tokens=usage.input_tokens if usage else 0,
            cached_tokens=usage.cached_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            reconnects=reconnects,
            stalled=stalled,
        )
        self.stats.append(stats)
        return TurnResult(response, stats)

    def _can_chain(self) -> bool:
        if not self.config.chain or self.last_response_id is None:
            return False
        # Over a transport with no connection state, only stored responses can be continued.
        assert self.transport is not None
        if not self.transport.connection_scoped and not self.config.store:
            return False
        return self._chain_on_connection or self.config.store

    async def _exchange(
        self, request: CreateRequest, start: float
    ) -> tuple[Response, float | None, float | None]:
        await self._ensure_open()
        transport = self.transport
        assert transport is not None
        await self._unless_idle(transport.send(request.ws_frame()))
        acc = StreamAccumulator()
        ttfe = ttft = None
        while not acc.done:
            event = parse_server_event(await self._unless_idle(transport.receive()))
            ttfe = ttfe if ttfe is not None else self._clock() - start
            if acc.feed(event) and ttft is None:
                ttft = self._clock() - start
            if self.on_text is not None and isinstance(event, TextEvent) and event.is_delta:
                self.on_text(event.text)
        return acc.result(), ttfe, ttft

    async def _ensure_open(self) -> None:
        if self.transport is not None:
            return
        try:
            self.transport = await self._connect(self.meter)
        except UpgradeRefused:
            if self._fallback is None:
                raise
            self._connect, self._fallback = self._fallback, None
            self.transport = await self._connect(self.meter)
        self._chain_on_connection = False

    async def _unless_idle(self, step: Awaitable[T]) -> T:
        """``step``, unless the server leaves it waiting ``idle_timeout`` seconds."""
        limit = self.config.idle_timeout
        timer = asyncio.timeout(limit)
        try:
            async with timer:
                return await step
        except TimeoutError:
            if not timer.expired():
                raise
            raise _Stalled(f"no event from the server for {limit:g} s (idle timeout)") from None

    async def _drop(self) -> None:
        """Cut the connection without a closing handshake: the other end is taken for dead."""
        if self.transport is not None:
            transport, self.transport = self.transport, None
            await transport.abort()

    async def _reconnect_after(self, fault: str) -> None:
        """Drop the failed connection and open another: up to ``reconnect_attempts`` tries, the
        wait between them doubling. Tells ``on_recover``; raises ``ConnectionLost`` saying what
        happened when no try succeeds."""
        await self._drop()
        started = self._monotonic()
        attempts = max(1, self.config.reconnect_attempts)
        delay = self.config.reconnect_delay
        for attempt in range(1, attempts + 1):
            try:
                await self._ensure_open()
                break
            except (ConnectFailed, UpgradeRefused) as exc:
                if attempt == attempts:
                    raise ConnectionLost(
                        f"{fault}; {attempts} tries to reconnect over "
                        f"{self._monotonic() - started:.1f} s failed, the last: {exc}"
                    ) from exc
                await asyncio.sleep(delay)
                delay = min(2 * delay, self.config.reconnect_max_delay)
        waited = self._monotonic() - started
        tries = f" (try {attempt}, after {waited:.1f} s)" if attempt > 1 else ""
        if self.on_recover is not None:
            self.on_recover(
                f"{fault}: reconnected{tries} and resent the turn with the whole conversation"
            )

    async def _reconnect(self) -> None:
        await self.close()
        await self._ensure_open()

    async def _rotate_if_old(self) -> None:
        if self.transport is None:
            return
        if self._monotonic() - self.transport.opened_at >= self.config.rotate_after_s:
            await self._reconnect()


def _fault(exc: ConnectionLost | ConnectionLimitReached) -> str:
    """What went wrong, for the user."""
    if isinstance(exc, _Stalled):
        return f"the model stalled: {exc}"
    if isinstance(exc, ConnectionLimitReached):
        return "the server ended the connection at its time limit"
    return f"the connection was lost ({exc})"
