"""``StreamAccumulator``: the client side of one response's event stream.

Feed every event with ``feed()``; it never raises. When ``done`` is true, ``result()`` returns the
final ``Response`` (completed, failed or incomplete) or raises: ``ApiError`` for an ``error``
event, ``StreamError`` when the stream broke the protocol (events out of order, sequence numbers
going backwards, an event after the terminal one, a delta for an item never added).
"""

from __future__ import annotations

from dataclasses import replace

from codeagent.errors import ErrorInfo, StreamError, api_error
from codeagent.protocol.events import (
    TERMINAL,
    ArgumentsEvent,
    ErrorEvent,
    OutputItemEvent,
    ResponseEvent,
    ServerEvent,
    TextEvent,
)
from codeagent.protocol.items import Item
from codeagent.protocol.response import Response


class StreamAccumulator:
    def __init__(self) -> None:
        self.done = False
        self.response: Response | None = None
        self._error: ErrorInfo | None = None
        self._violation: str | None = None
        self._last_seq = -1
        self._open: set[int] = set()
        self._items: dict[int, Item] = {}
        self.text_parts: list[str] = []

    def feed(self, event: ServerEvent) -> bool:
        """Take one event; returns True when it carried model output (a text or argument delta)."""
        if self.done:
            self._break(f"event {event.type!r} after the end of the response")
            return False
        if isinstance(event, ErrorEvent):
            self._error = event.error
            self.done = True
            return False
        seq = getattr(event, "sequence_number", -1)
        if seq >= 0:
            if seq <= self._last_seq:
                self._break(f"sequence_number {seq} after {self._last_seq}")
            self._last_seq = seq
        if self.response is None and event.type != "response.created":
            if isinstance(event, ResponseEvent | OutputItemEvent | TextEvent | ArgumentsEvent):
                self._break(f"{event.type!r} before response.created")
            return False
        if isinstance(event, ResponseEvent):
            self.response = event.response
            if event.type in TERMINAL:
                self.done = True
            return False
        if isinstance(event, OutputItemEvent):
            if event.type.endswith(".added"):
                self._open.add(event.output_index)
            else:
                self._open.discard(event.output_index)
                self._items[event.output_index] = event.item
            return False
        if isinstance(event, TextEvent | ArgumentsEvent) and event.type.endswith(".delta"):
            if event.output_index not in self._open:
                self._break(f"{event.type!r} for output {event.output_index}, never added")
            if isinstance(event, TextEvent):
                self.text_parts.append(event.text)
            return True
        return False

    def result(self) -> Response:
        if self._violation is not None:
            raise StreamError(self._violation)
        if self._error is not None:
            raise api_error(self._error)
        if not self.done or self.response is None:
            raise StreamError("the stream ended before a terminal event")
        if not self.response.output and self._items:
            # Some servers send a terminal response without its output; rebuild it from items.
            items = tuple(self._items[i] for i in sorted(self._items))
            return replace(self.response, output=items)
        return self.response

    def _break(self, message: str) -> None:
        if self._violation is None:
            self._violation = message
        self.done = True
