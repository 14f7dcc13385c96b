"""``ToolCallParser``: a model's streamed text in, text deltas and function calls out.

The model calls a tool by writing ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
(the format ``chat`` describes in the system block). Text outside the tags streams as it comes,
held back only while it might be the start of a tag (and trailing whitespace, which belongs to
whatever follows). A call is emitted when its closing tag arrives, or at the end if the model
stopped inside one. A call whose JSON does not parse, lacks a name, or names a tool the request
did not offer comes back as the text the model wrote: never an exception, never a lost byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from codeagent.errors import InvalidRequest
from codeagent.model.chat import CALL_CLOSE, CALL_OPEN
from codeagent.protocol import wire
from codeagent.protocol.generation import CallDelta, CallStart, Chunk, TextDelta


class ToolCallParser:
    def __init__(self, tool_names: Iterable[str]) -> None:
        self.tool_names = frozenset(tool_names)
        self._buffer = ""
        self._in_call = False
        self._after_call = False

    def feed(self, text: str) -> list[Chunk]:
        self._buffer += text
        if self._after_call:  # the whitespace between a call and what follows is layout
            self._buffer = self._buffer.lstrip()
            self._after_call = not self._buffer
        out: list[Chunk] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CALL_CLOSE)
                if end < 0:
                    return out
                body = self._buffer[len(CALL_OPEN) : end]
                raw = self._buffer[: end + len(CALL_CLOSE)]
                self._buffer = self._buffer[end + len(CALL_CLOSE) :].lstrip()
                self._in_call = False
                self._after_call = not self._buffer
                out += self._call(body, raw)
                continue
            start = self._buffer.find(CALL_OPEN)
            if start >= 0:
                out += _text(self._buffer[:start].rstrip())
                self._buffer = self._buffer[start:]
                self._in_call = True
                continue
            keep = _held_back(self._buffer)
            out += _text(self._buffer[: len(self._buffer) - keep])
            self._buffer = self._buffer[len(self._buffer) - keep :]
            return out

    def finish(self) -> list[Chunk]:
        """The model stopped: what is still held back, a call left open included."""
        rest, self._buffer = self._buffer, ""
        if self._in_call:
            self._in_call = False
            return self._call(rest[len(CALL_OPEN) :], rest)
        return _text(rest.rstrip())

    def _call(self, body: str, raw: str) -> list[Chunk]:
        try:  # strict: NaN or a lone surrogate would break the client's JSON or our send
            value = wire.loads(body)
        except InvalidRequest:
            return _text(raw)
        if not isinstance(value, dict):
            return _text(raw)
        name, arguments = value.get("name"), value.get("arguments", {})
        if not isinstance(name, str) or name not in self.tool_names:
            return _text(raw)
        if isinstance(arguments, str):  # some models write the arguments as a JSON string
            try:
                arguments = wire.loads(arguments)
            except InvalidRequest:
                return _text(raw)
        if not isinstance(arguments, dict):
            return _text(raw)
        return [CallStart(name), CallDelta(json.dumps(arguments, ensure_ascii=False))]


def _text(text: str) -> list[Chunk]:
    return [TextDelta(text)] if text else []


def _held_back(buffer: str) -> int:
    """How many trailing characters to keep: a possible start of ``<tool_call>`` or whitespace."""
    for size in range(min(len(CALL_OPEN) - 1, len(buffer)), 0, -1):
        if CALL_OPEN.startswith(buffer[-size:]):
            return size + _trailing_space(buffer[:-size])
    return _trailing_space(buffer)


def _trailing_space(text: str) -> int:
    return len(text) - len(text.rstrip())
