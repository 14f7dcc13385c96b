"""``ServerConfig``: everything ``codeagent serve`` can be told, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from codeagent.protocol.session import SessionLimits


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    """Loopback by default: the server is reachable from other machines only when asked."""
    port: int = 8765
    api_key: str | None = None
    """When set, every request needs ``Authorization: Bearer <api_key>``."""
    max_frame_bytes: int = 16 * 1024 * 1024
    """Largest WebSocket message (bigger: close 1009) and HTTP body (bigger: 413)."""
    store_capacity: int = 1024
    """Responses with ``store: true`` kept server-wide (least recently used dropped first)."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins let in besides the local ones (``*``: every origin). The ``Origin`` and
    ``Host`` checks are in ``origin.py``."""
    limits: SessionLimits = field(default_factory=SessionLimits)
    handshake_timeout: float = 10.0
    """Seconds a client has to send a whole request head (a WebSocket upgrade included) after
    connecting or after the previous response: a slower one gets 408 and is closed (slowloris),
    a silent one is closed."""
    ping_interval: float = 20.0
    """Seconds between keepalive pings on a WebSocket connection."""
    ping_timeout: float = 20.0
    """Seconds a pong may take; without one the connection is closed (1011) and its work
    cancelled: a half-open peer, or one that stopped reading, is freed."""
    max_connections: int = 256
    """WebSocket connections plus HTTP responses in flight at once; one more is refused with
    HTTP 503 ``too_many_connections`` and ``Retry-After`` (the upgrade included), so the excess
    waits instead of slowing everyone. A fixed 256 for every backend: an idle echo connection
    costs the server tens of KiB (``codeagent bench load``), and the llama backend's KV caches
    are bounded apart by ``--cache-mb`` (a connection beyond them re-reads its prompt)."""

    def __repr__(self) -> str:
        # The API key never appears in logs.
        key = "set" if self.api_key else None
        return (
            f"ServerConfig(host={self.host!r}, port={self.port}, api_key={key}, "
            f"max_frame_bytes={self.max_frame_bytes}, store_capacity={self.store_capacity}, "
            f"allowed_origins={self.allowed_origins}, limits={self.limits}, "
            f"max_connections={self.max_connections})"
        )
