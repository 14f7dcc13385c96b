"""``TurnStats``: what one turn cost, measured. The TUI pane, reports and benchmarks read these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TurnStats:
    index: int
    transport: str
    response_id: str
    status: str
    generate: bool
    chained: bool
    """Sent as a continuation (``previous_response_id`` + new items only)."""
    retried: bool
    """Sent again with the full input after ``previous_response_not_found`` or a reconnect."""
    bytes_sent: int
    bytes_received: int
    handshakes: int
    full_resend_bytes: int
    """What the request alone would have weighed with the whole conversation as input."""
    time_to_first_event: float | None
    time_to_first_token: float | None
    total_time: float
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reconnects: int = 0
    """Connections opened again during this turn, after a drop, a stall or the server's limit."""
    stalled: bool = False
    """The server went silent during this turn for longer than the client's idle timeout."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Totals:
    turns: int
    bytes_sent: int
    bytes_received: int
    handshakes: int
    full_resend_bytes: int
    total_time: float
    input_tokens: int
    cached_tokens: int
    output_tokens: int

    @classmethod
    def of(cls, stats: Iterable[TurnStats]) -> Totals:
        rows = list(stats)
        return cls(
            turns=len(rows),
            bytes_sent=sum(s.bytes_sent for s in rows),
            bytes_received=sum(s.bytes_received for s in rows),
            handshakes=sum(s.handshakes for s in rows),
            full_resend_bytes=sum(s.full_resend_bytes for s in rows),
            total_time=sum(s.total_time for s in rows),
            input_tokens=sum(s.input_tokens for s in rows),
            cached_tokens=sum(s.cached_tokens for s in rows),
            output_tokens=sum(s.output_tokens for s in rows),
        )
