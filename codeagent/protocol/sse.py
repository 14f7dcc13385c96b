"""``SseDecoder``: the ``data`` of each server-sent event, from bytes as they arrive (sans-I/O).

The event stream format (WHATWG HTML, "Server-sent events", 9.2.6): a line ends at CRLF, LF or
CR, and nowhere else. Not at U+2028, U+2029 or U+0085, which ``str.splitlines()`` also takes for
line ends: servers write JSON with raw non-ASCII text, so those characters occur inside ``data:``
lines. An event ends at a blank line; its ``data:`` lines are joined with newlines; other
fields (``event:``, ``id:``, comments) are dropped, and an event with no data yields nothing.
One U+FEFF (byte order mark) at the start of the stream is ignored, as the spec says.
Both ends that read SSE use it: the HTTP+SSE client transport (Responses events) and the
upstream backend (Chat Completions chunks).
"""

from __future__ import annotations

import re

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = "\ufeff".encode()


class SseDecoder:
    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] | None = None
        """The current event's ``data`` lines; ``None`` while it has none."""
        self._after_cr = False
        self._at_start = True
        """Nothing read yet: a leading BOM is still to be skipped."""

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event completed by ``chunk``, in order."""
        if not chunk:
            return []
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the second half of a CRLF split across chunks
        self._buffer += chunk
        if self._at_start:
            if _BOM.startswith(self._buffer):
                return []  # the start of a BOM, or all of one: what follows decides
            self._at_start = False
            if self._buffer.startswith(_BOM):
                self._buffer = self._buffer[len(_BOM) :]
        out: list[str] = []
        start = 0
        for end in _LINE_END.finditer(self._buffer):
            self._line(self._buffer[start : end.start()], out)
            start = end.end()
        # A CR last in the buffer ends its line now; an LF first in the next chunk is its pair.
        self._after_cr = self._buffer.endswith(b"\r")
        self._buffer = self._buffer[start:]
        return out

    def reset(self) -> None:
        """Forget a partial event (the stream it came from is gone)."""
        self._buffer = b""
        self._data = None
        self._after_cr = False
        self._at_start = True

    def _line(self, raw: bytes, out: list[str]) -> None:
        if not raw:
            if self._data is not None:
                out.append("\n".join(self._data))
            self._data = None
            return
        if raw == b"data":  # a field name alone has the empty value
            raw = b"data:"
        if raw.startswith(b"data:"):
            # Line ends are ASCII, so a line never splits a UTF-8 character; bytes that are not
            # UTF-8 become U+FFFD, as the spec decodes the stream.
            value = raw[5:].decode("utf-8", errors="replace")
            if self._data is None:
                self._data = []
            self._data.append(value[1:] if value.startswith(" ") else value)
