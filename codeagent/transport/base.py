"""The one narrow seam every client transport implements, and its byte meter.

A transport carries WebSocket-mode frames: ``send`` takes a client event (a JSON text such as
``{"type": "response.create", ...}``), ``receive`` returns server events as JSON texts, with error
events in the WebSocket envelope whatever the wire (the HTTP transport converts). Failures are
``ConnectFailed`` / ``UpgradeRefused`` on connect and ``ConnectionLost`` afterwards. A transport
never times out a quiet server by itself: the client above owns the idle timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass
class WireMeter:
    """Bytes that crossed the wire, both ways, and the handshakes that opened connections.

    WebSocket: frame headers + payloads, plus the HTTP upgrade request and response.
    HTTP: request and response start lines, headers and bodies (chunk framing not counted).
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    handshakes: int = 0

    def snapshot(self) -> tuple[int, int, int]:
        return self.bytes_sent, self.bytes_received, self.handshakes


class Transport(Protocol):
    name: str
    """``"websocket"``, ``"http"`` or ``"memory"``."""
    connection_scoped: bool
    """True when the server keeps state for this connection (store=false chains work)."""
    supports_warmup: bool
    """True when ``generate: false`` is available (WebSocket mode only)."""
    meter: WireMeter
    opened_at: float
    """``time.monotonic()`` when the connection opened (for rotation before the limit)."""

    async def send(self, text: str) -> None: ...

    async def receive(self) -> str: ...

    async def close(self) -> None:
        """Close politely (WebSocket: the closing handshake, bounded by its timeout)."""
        ...

    async def abort(self) -> None:
        """Cut the connection at once, without a closing handshake: the other end is taken
        for dead (it dropped, or stalled past the idle timeout)."""
        ...


Connector = Callable[[WireMeter], Awaitable[Transport]]
"""Opens a new connection whose bytes are counted on the given meter."""


def frame_header_size(payload: int, *, masked: bool) -> int:
    """Size of a WebSocket frame header (RFC 6455 section 5.2); clients mask, servers don't."""
    length = 0 if payload < 126 else 2 if payload < 65536 else 8
    return 2 + length + (4 if masked else 0)
