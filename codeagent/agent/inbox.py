"""``Inbox``: instructions a person sends while a session runs (from another thread)."""

from __future__ import annotations

import queue


class Inbox:
    """Thread-safe: an interface puts, the session takes them all before its next turn and
    sends them to the model as user messages on the same connection."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, text: str) -> None:
        if text.strip():
            self._queue.put(text.strip())

    def drain(self) -> list[str]:
        out: list[str] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out
