"""``SseDecoder``: the ``data`` of each server-sent event, from bytes as they arrive (sans-I/O).

Events end at a blank line; an event's ``data:`` lines are joined with newlines (the SSE rule),
other fields (``event:``, ``id:``, comments) are dropped, and an event with no data yields
nothing. Both ends that read SSE use it: the HTTP+SSE client transport (Responses events) and
the upstream backend (Chat Completions chunks).
"""

from __future__ import annotations


class SseDecoder:
    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event completed by ``chunk``, in order."""
        self._buffer = (self._buffer + chunk).replace(b"\r\n", b"\n")  # CRLF servers too
        out = []
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            data = event_data(block.decode())
            if data is not None:
                out.append(data)
        return out

    def reset(self) -> None:
        """Forget a partial event (the stream it came from is gone)."""
        self._buffer = b""


def event_data(block: str) -> str | None:
    """One event's ``data``, or ``None`` if it has no ``data:`` line."""
    lines = [ln[5:].lstrip(" ") for ln in block.splitlines() if ln.startswith("data:")]
    return "\n".join(lines) if lines else None
