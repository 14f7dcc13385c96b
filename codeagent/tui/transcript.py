"""``Transcript``: the session as it happens, one entry per step, the model's text streaming in."""

from __future__ import annotations

from rich.markup import escape
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Static

from codeagent.agent.events import (
    AgentEvent,
    CandidateTested,
    ContextBuilt,
    Finished,
    FixFound,
    Localised,
    ModelDelta,
    ModelText,
    Note,
    SessionStarted,
    TestsRun,
    ToolCalled,
    TurnStarted,
    UserInput,
)


class Transcript(VerticalScroll):
    """Call ``add`` with each event; long outputs are folded."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._reply: Static | None = None
        self._reply_text = ""
        self._tally: Static | None = None
        self.tried = 0
        self.failing = 0

    def add(self, event: AgentEvent) -> None:
        if isinstance(event, ModelDelta):
            self._stream(event.text)
            return
        if isinstance(event, ModelText):
            if self._reply is not None and not self._reply_text:
                self._stream(event.text)
            self._reply = None
            return
        if isinstance(event, TurnStarted):
            self._turn(event)
            return
        if isinstance(event, CandidateTested):
            self._candidate(event)
            return
        if isinstance(event, TestsRun):
            self._tests(event)
            return
        line = _line(event)
        if line:
            self._say(line, _style(event))

    def _say(self, markup: str, classes: str = "") -> Static:
        entry = Static(markup, classes=f"entry {classes}".strip())
        self.mount(entry)
        self.scroll_end(animate=False)
        return entry

    def _turn(self, event: TurnStarted) -> None:
        if event.purpose == "warmup":
            self._say("[dim]sending the context once (warmup)[/]")
            return
        self._reply_text = ""
        self._reply = self._say("[b]model:[/] ", "reply")

    def _stream(self, text: str) -> None:
        if self._reply is None:
            return
        self._reply_text += text
        self._reply.update(f"[b]model:[/] {escape(self._reply_text.strip())}")
        self.scroll_end(animate=False)

    def _tests(self, event: TestsRun) -> None:
        counts = f"{event.passed} passed, {event.failed} failed"
        mark = "[green]✓[/]" if not event.failed else "[red]✗[/]"
        self._say(f"{mark} tests ({event.purpose}): {counts} in {event.seconds:.2f} s")
        if event.failing:
            body = "\n".join(event.failing) + (f"\n\n{event.message}" if event.message else "")
            folded = Collapsible(Static(escape(body)), title="failing", collapsed=True)
            self.mount(folded)

    def _candidate(self, event: CandidateTested) -> None:
        self.tried += 1
        self.failing += event.outcome not in ("fixed", "improved")
        tally = f"[dim]candidates tried: {self.tried} ({self.failing} not a fix)[/]"
        if self._tally is None:
            self._tally = self._say(tally)
        else:
            self._tally.update(tally)
        if event.outcome in ("fixed", "improved"):
            self._say(f"[green]{event.outcome}[/]: {escape(event.detail)}")
            self._tally = None


def _line(event: AgentEvent) -> str:
    if isinstance(event, SessionStarted):
        return (
            f"[b]fixing[/] {escape(event.repo)} · {escape(event.model)} via "
            f"{escape(event.provider)} · {event.strategy}"
        )
    if isinstance(event, Localised):
        top = ", ".join(f"{s.path}:{s.line}" for s in event.suspects[:4])
        return f"suspects: {escape(top) or 'none'}"
    if isinstance(event, ContextBuilt):
        return f"[dim]context: repo map of {event.files} files ({event.map_tokens} tokens)[/]"
    if isinstance(event, ToolCalled):
        state = "[green]ok[/]" if event.ok else "[red]error[/]"
        return f"tool [b]{event.name}[/] {state}: {escape(event.summary[:120])}"
    if isinstance(event, FixFound):
        return f"[b green]fix found[/]: {escape(event.description)}"
    if isinstance(event, UserInput):
        return f"[b]you:[/] {escape(event.text)}"
    if isinstance(event, Note):
        return f"[yellow]{event.level}[/]: {escape(event.message)}"
    if isinstance(event, Finished):
        outcome = event.outcome.replace("_", " ")
        return (
            f"[b]{outcome}[/]: {escape(event.reason)} · {event.turns} turns, "
            f"{event.seconds:.1f} s, {event.candidates} candidates"
        )
    return ""


def _style(event: AgentEvent) -> str:
    if isinstance(event, Finished):
        return "done" if event.outcome in ("fixed", "nothing_to_fix") else "failed"
    return ""
