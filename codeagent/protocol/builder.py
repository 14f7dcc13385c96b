"""``ResponseBuilder``: backend chunks in, the ordered server events of one response out.

Call ``start()`` once, then ``feed(chunk)`` for each chunk a backend yields (the last one is a
``Finish``), or ``fail(message)`` if the backend broke. Each call returns the events to send, in
order, with increasing ``sequence_number``s starting at 0 (PROTOCOL.md, "Server events").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace

from codeagent.errors import ErrorInfo
from codeagent.protocol.events import (
    ArgumentsEvent,
    ContentPartEvent,
    OutputItemEvent,
    ResponseEvent,
    ServerEvent,
    TextEvent,
)
from codeagent.protocol.generation import Accepted, CallDelta, CallStart, Chunk, Finish, TextDelta
from codeagent.protocol.items import FunctionCall, Item, Message, OutputText
from codeagent.protocol.response import Response, Usage

IdSource = Callable[[str], str]
"""Makes a fresh id with the given prefix (``"resp"``, ``"msg"``, ``"fc"``, ``"call"``)."""


def random_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class ResponseBuilder:
    def __init__(self, response: Response, *, ids: IdSource, wall: Callable[[], float]) -> None:
        self.response = response
        self._ids = ids
        self._wall = wall
        self._seq = 0
        self._output: list[Item] = []
        self._open: Message | FunctionCall | None = None
        self._parts: list[str] = []
        self.finished = False

    @property
    def output(self) -> tuple[Item, ...]:
        return tuple(self._output)

    def start(self) -> list[ServerEvent]:
        return [
            ResponseEvent("response.created", self.response, self._next()),
            ResponseEvent("response.in_progress", self.response, self._next()),
        ]

    def feed(self, chunk: Chunk) -> list[ServerEvent]:
        if self.finished or isinstance(chunk, Accepted):
            return []
        if isinstance(chunk, TextDelta):
            return self._text(chunk.text)
        if isinstance(chunk, CallStart):
            return self._call_start(chunk)
        if isinstance(chunk, CallDelta):
            return self._call_delta(chunk.arguments)
        return self._finish(chunk)

    def fail(self, message: str, usage: Usage | None = None) -> list[ServerEvent]:
        """End with ``response.failed`` (``server_error``); open items are dropped."""
        self.finished = True
        self._open = None
        info = ErrorInfo(500, "server_error", "server_error", message)
        self.response = self.response.finished(
            "failed", None, self.output, usage or Usage(), error=info
        )
        return [ResponseEvent("response.failed", self.response, self._next())]

    def _next(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _index(self) -> int:
        return len(self._output)

    def _text(self, delta: str) -> list[ServerEvent]:
        events = self._close() if isinstance(self._open, FunctionCall) else []
        if self._open is None:
            msg = Message("assistant", (), id=self._ids("msg"), status="in_progress")
            self._open = msg
            self._parts = []
            events.append(
                OutputItemEvent("response.output_item.added", self._index(), msg, self._next())
            )
            events.append(
                ContentPartEvent(
                    "response.content_part.added",
                    msg.id or "",
                    self._index(),
                    0,
                    OutputText(""),
                    self._next(),
                )
            )
        self._parts.append(delta)
        item_id = self._open.id or ""
        events.append(
            TextEvent("response.output_text.delta", item_id, self._index(), 0, delta, self._next())
        )
        return events

    def _call_start(self, chunk: CallStart) -> list[ServerEvent]:
        events = self._close()
        call = FunctionCall(
            call_id=chunk.call_id or self._ids("call"),
            name=chunk.name,
            arguments="",
            id=self._ids("fc"),
            status="in_progress",
        )
        self._open = call
        self._parts = []
        events.append(
            OutputItemEvent("response.output_item.added", self._index(), call, self._next())
        )
        return events

    def _call_delta(self, delta: str) -> list[ServerEvent]:
        if not isinstance(self._open, FunctionCall):
            # Arguments with no call open: the backend broke its contract; keep the text.
            return self._text(delta)
        self._parts.append(delta)
        return [
            ArgumentsEvent(
                "response.function_call_arguments.delta",
                self._open.id or "",
                self._index(),
                delta,
                self._next(),
            )
        ]

    def _close(self) -> list[ServerEvent]:
        """Finish the open item: its ``.done`` events, then ``output_item.done``."""
        item, self._open = self._open, None
        if item is None:
            return []
        joined = "".join(self._parts)
        index = self._index()
        events: list[ServerEvent] = []
        done: Item
        if isinstance(item, Message):
            item_id = item.id or ""
            done = replace(item, content=(OutputText(joined),), status="completed")
            events += [
                TextEvent("response.output_text.done", item_id, index, 0, joined, self._next()),
                ContentPartEvent(
                    "response.content_part.done",
                    item_id,
                    index,
                    0,
                    OutputText(joined),
                    self._next(),
                ),
            ]
        else:
            done = replace(item, arguments=joined, status="completed")
            events.append(
                ArgumentsEvent(
                    "response.function_call_arguments.done",
                    item.id or "",
                    index,
                    joined,
                    self._next(),
                    name=item.name,
                )
            )
        events.append(OutputItemEvent("response.output_item.done", index, done, self._next()))
        self._output.append(done)
        return events

    def _finish(self, chunk: Finish) -> list[ServerEvent]:
        events = self._close()
        self.finished = True
        now = int(self._wall())
        if chunk.reason == "max_output_tokens":
            self.response = self.response.finished(
                "incomplete", None, self.output, chunk.usage, incomplete_reason="max_output_tokens"
            )
            events.append(ResponseEvent("response.incomplete", self.response, self._next()))
        else:
            self.response = self.response.finished("completed", now, self.output, chunk.usage)
            events.append(ResponseEvent("response.completed", self.response, self._next()))
        return events
