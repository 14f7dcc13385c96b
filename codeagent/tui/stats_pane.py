"""``StatsPane``: per-turn latency and cache reuse, the connection, the running totals.

The figures are the client's ``TurnStats``, the same the headless report prints.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Label, Sparkline, Static

from codeagent.transport.stats import Totals, TurnStats

LIFETIME_S = 60 * 60
"""The Responses API's WebSocket connection limit."""


class StatsPane(Vertical):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.turns: list[TurnStats] = []
        self.connected_at: float | None = None
        self.closed_at: float | None = None
        self._clock: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label("time to first token", classes="title")
        yield Sparkline([], id="ttft")
        yield Label("turn latency", classes="title")
        yield Sparkline([], id="latency")
        yield Static(self._text(), id="figures")

    def add(self, stats: TurnStats) -> None:
        self.turns.append(stats)
        if self.connected_at is None and stats.handshakes:
            self.connected_at = time.monotonic() - stats.total_time
            self._clock = self.set_interval(1.0, self.refresh_figures)  # the uptime ticks
        self.query_one("#ttft", Sparkline).data = [
            (s.time_to_first_token or 0.0) * 1000 for s in self.turns if s.generate
        ]
        self.query_one("#latency", Sparkline).data = [s.total_time * 1000 for s in self.turns]
        self.refresh_figures()

    def connection_closed(self) -> None:
        """The session ended: its connection's uptime stops; the next session's starts anew."""
        if self.connected_at is not None and self.closed_at is None:
            self.closed_at = time.monotonic()
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        self.refresh_figures()

    def connection_opening(self) -> None:
        self.connected_at = self.closed_at = None

    def refresh_figures(self) -> None:
        self.query_one("#figures", Static).update(self._text())

    def _text(self) -> str:
        if not self.turns:
            return "[dim]no turn yet[/]"
        last = self.turns[-1]
        totals = Totals.of(self.turns)
        ttft = f"{last.time_to_first_token * 1000:.0f} ms" if last.time_to_first_token else "-"
        saved = totals.full_resend_bytes - totals.bytes_sent
        ratio = totals.cached_tokens / totals.input_tokens if totals.input_tokens else 0.0
        return "\n".join(
            [
                f"[b]turn {last.index}[/]: first token {ttft}, {last.total_time:.2f} s",
                f"  sent {last.bytes_sent:,} B, resend {last.full_resend_bytes:,} B",
                f"  cached {last.cached_tokens:,} / {last.input_tokens:,} tokens",
                "",
                f"[b]connection[/]: {self._state(last)}",
                f"  {totals.handshakes} handshake{'s' if totals.handshakes != 1 else ''}, "
                + (
                    f"was up {self._uptime()}"
                    if self.closed_at
                    else f"up {self._uptime()} of 60:00"
                ),
                "",
                f"[b]totals[/]: {totals.turns} turns, {totals.total_time:.1f} s",
                f"  tokens {totals.input_tokens + totals.output_tokens:,} (cached {ratio:.0%})",
                f"  bytes saved {saved:,} of {totals.full_resend_bytes:,}",
            ]
        )

    @staticmethod
    def _state(last: TurnStats) -> str:
        if last.retried:
            return "reconnected"
        return {"websocket": "WebSocket", "http": "HTTP+SSE (fallback)"}.get(
            last.transport, last.transport
        )

    def _uptime(self) -> str:
        if self.connected_at is None:
            return "0:00"
        now = self.closed_at if self.closed_at is not None else time.monotonic()
        up = min(LIFETIME_S, int(now - self.connected_at))
        return f"{up // 60}:{up % 60:02d}"
