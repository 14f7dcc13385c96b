"""``Transcript``: the session as it happens, one entry per step, the model's text streaming in.

Text from the model, the repository or the tests (a tool's name, a path, a test id, a reply)
is never read as markup: every entry is a ``Content`` built from styled pieces, so ``x[/i]``
shows as written, and lone surrogates (bytes that were not UTF-8) show as U+FFFD.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
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
    printable,
)

Piece = str | tuple[str, str]
"""Plain text, or text and its style: never markup."""


def _content(*pieces: Piece) -> Content:
    return Content.assemble(*pieces)


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
        event = printable(event)
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
        for line in _lines(event):
            self._say(line, _style(event))

    def _say(self, content: Content, classes: str = "") -> Static:
        entry = Static(content, classes=f"entry {classes}".strip())
        self.mount(entry)
        self.scroll_end(animate=False)
        return entry

    def _turn(self, event: TurnStarted) -> None:
        if event.purpose == "warmup":
            self._say(_content(("sending the context once (warmup)", "dim")))
            return
        self._reply_text = ""
        self._reply = self._say(_content(("model:", "bold"), " "), "reply")

    def _stream(self, text: str) -> None:
        if self._reply is None:
            return
        self._reply_text += text
        self._reply.update(_content(("model:", "bold"), " ", self._reply_text.strip()))
        self.scroll_end(animate=False)

    def _tests(self, event: TestsRun) -> None:
        counts = f"{event.passed} passed, {event.failed} failed"
        mark = ("✓", "green") if not event.failed else ("✗", "red")
        self._say(_content(mark, f" tests ({event.purpose}): {counts} in {event.seconds:.2f} s"))
        if event.failing:
            body = "\n".join(event.failing) + (f"\n\n{event.message}" if event.message else "")
            folded = Collapsible(Static(Content(body)), title="failing", collapsed=True)
            self.mount(folded)

    def _candidate(self, event: CandidateTested) -> None:
        self.tried += 1
        self.failing += event.outcome not in ("fixed", "improved")
        tally = _content((f"candidates tried: {self.tried} ({self.failing} not a fix)", "dim"))
        if self._tally is None:
            self._tally = self._say(tally)
        else:
            self._tally.update(tally)
        if event.outcome in ("fixed", "improved"):
            self._say(_content((event.outcome, "green"), ": ", event.detail))
            self._tally = None


def _lines(event: AgentEvent) -> list[Content]:
    if isinstance(event, SessionStarted):
        return _started(event)
    if isinstance(event, Localised):
        top = ", ".join(f"{s.path}:{s.line}" for s in event.suspects[:4])
        return [_content(f"suspects: {top or 'none'}")]
    if isinstance(event, ContextBuilt):
        text = f"context: repo map of {event.files} files ({event.map_tokens} tokens)"
        return [_content((text, "dim"))]
    if isinstance(event, ToolCalled):
        state = ("ok", "green") if event.ok else ("error", "red")
        return [_content("tool ", (event.name, "bold"), " ", state, ": ", event.summary[:120])]
    if isinstance(event, FixFound):
        return [_content(("fix found", "bold green"), ": ", event.description)]
    if isinstance(event, UserInput):
        return [_content(("you:", "bold"), " ", event.text)]
    if isinstance(event, Note):
        return [_content((event.level, "yellow"), ": ", event.message)]
    if isinstance(event, Finished):
        outcome = event.outcome.replace("_", " ")
        tail = f" · {event.turns} turns, {event.seconds:.1f} s, {event.candidates} candidates"
        return [_content((outcome, "bold"), ": ", event.reason, tail)]
    return []


def _started(event: SessionStarted) -> list[Content]:
    """What is being fixed, with what; then where the settings chosen came from, and the
    sandbox, when said."""
    lines = [
        _content(
            ("fixing", "bold"),
            f" {event.repo} · {event.model} via {event.provider} · {event.strategy}",
        )
    ]
    for source, names in event.settings_by_source().items():
        lines.append(_content((f"settings from {source}: {', '.join(names)}", "dim")))
    if event.sandbox:
        lines.append(_content((f"sandbox: {event.sandbox}", "dim")))
    return lines


def _style(event: AgentEvent) -> str:
    if isinstance(event, Finished):
        return "done" if event.outcome in ("fixed", "nothing_to_fix") else "failed"
    return ""
