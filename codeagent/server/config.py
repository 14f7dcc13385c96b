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
    limits: SessionLimits = field(default_factory=SessionLimits)

    def __repr__(self) -> str:
        # The API key never appears in logs.
        key = "set" if self.api_key else None
        return (
            f"ServerConfig(host={self.host!r}, port={self.port}, api_key={key}, "
            f"max_frame_bytes={self.max_frame_bytes}, store_capacity={self.store_capacity}, "
            f"limits={self.limits})"
        )
