"""``Conversation``: the session's one connection to the model, with its events and budget.

Wraps ``ResponsesClient``: the static prefix goes once (a ``generate: false`` warmup where the
transport has it), every later turn sends only its new items, chained. Each turn is announced
(``TurnStarted``), its text reported (``ModelText``) and measured (``TurnFinished`` with the
client's ``TurnStats``); the budget is checked before each turn, so a turn is never started
that the budget does not allow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from codeagent.agent.events import (
    AgentEvent,
    ModelDelta,
    ModelText,
    Note,
    TurnFinished,
    TurnStarted,
    UserInput,
)
from codeagent.agent.inbox import Inbox
from codeagent.agent.outcome import Budget, BudgetExceeded
from codeagent.protocol.items import Item, user_message
from codeagent.protocol.request import Tool
from codeagent.protocol.response import Response
from codeagent.transport.client import ResponsesClient, TurnResult
from codeagent.transport.stats import Totals

Emit = Callable[[AgentEvent], None]


@dataclass
class Usage:
    """What the session has spent so far."""

    started: float = field(default_factory=time.monotonic)
    turns: int = 0
    tokens: int = 0
    candidates: int = 0
    model_seconds: float = 0.0
    """Wall time inside model turns (connecting included)."""
    test_seconds: float = 0.0
    """Wall time inside test runs."""
    setup_seconds: float = 0.0
    """The agent's one-time work before the first turn (localising, the repo map)."""

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class Conversation:
    def __init__(
        self,
        client: ResponsesClient,
        emit: Emit,
        budget: Budget,
        usage: Usage,
        inbox: Inbox | None = None,
    ) -> None:
        self.client = client
        self.emit = emit
        self.budget = budget
        self.usage = usage
        self.inbox = inbox or Inbox()
        client.on_text = lambda text: emit(ModelDelta(self.usage.turns, text))
        # A stalled or dropped connection is recovered by the client (reconnect, resend the
        # whole conversation); the person watching is told, and the session goes on.
        client.on_recover = lambda text: emit(Note("warning", text))

    def configure(self, instructions: str, tools: Sequence[Tool] = ()) -> None:
        """The strategy's instructions and tools, sent with every request from now on."""
        self.client.config = replace(
            self.client.config, instructions=instructions, tools=tuple(tools)
        )

    def check_budget(self) -> None:
        """Raise ``BudgetExceeded`` if a limit is reached."""
        spent = self.budget.exceeded(
            turns=self.usage.turns, seconds=self.usage.seconds, tokens=self.usage.tokens
        )
        if spent is not None:
            raise BudgetExceeded(spent)

    async def warmup(self, items: Sequence[Item]) -> None:
        """Send the static prefix once; where there is no warmup it goes with the next turn."""
        self.check_budget()
        self.emit(TurnStarted(self.usage.turns, "warmup"))
        start = time.monotonic()
        try:
            result = await self.client.warmup(items)
        finally:
            self.usage.model_seconds += time.monotonic() - start
        if result is None:
            self.emit(Note("info", "no warmup on this transport: the context goes with turn 1"))
        else:
            self._finished(result)

    async def turn(
        self,
        items: Sequence[Item],
        purpose: str,
        *,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
    ) -> Response:
        """One chained turn; returns the whole response. Raises the transport's and the API's
        errors (``codeagent.errors``) and ``BudgetExceeded``."""
        self.check_budget()
        index = self.usage.turns
        said = self.inbox.drain()
        for text in said:
            self.emit(UserInput(text))
        items = [*items, *(user_message(text) for text in said)]  # last: the freshest word
        self.emit(TurnStarted(index, purpose))
        config = self.client.config
        self.client.config = replace(
            config,
            temperature=config.temperature if temperature is None else temperature,
            max_output_tokens=max_output_tokens or config.max_output_tokens,
        )
        start = time.monotonic()
        try:
            result = await self.client.turn(items)
        except BaseException:
            self.client.drop_pending()  # a failed turn's items are not resent by accident
            raise
        finally:
            self.client.config = config
            self.usage.model_seconds += time.monotonic() - start
        if result.response.output_text:
            self.emit(ModelText(index, result.response.output_text))
        self._finished(result)
        return result.response

    def totals(self) -> Totals:
        return Totals.of(self.client.stats)

    def _finished(self, result: TurnResult) -> None:
        self.usage.turns += 1
        self.usage.tokens += result.stats.input_tokens + result.stats.output_tokens
        self.emit(TurnFinished(result.stats))
