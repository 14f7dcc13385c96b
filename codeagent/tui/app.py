"""``FixApp``: an interactive fixing session.

The transcript streams the session; the side pane (``s``) shows each turn's latency and cache
reuse and the connection; a found fix is shown as a diff to accept (``a``: applied to your
tree by the host), reject (``r``) or ask changes to (``c``: your words start a new session).
The input box starts a session, or sends an instruction to the running one on its connection.
The session runs in a worker thread and posts messages back; nothing here blocks on it.
Text from the session (paths, errors, the model's words) is never read as markup, and is shown
``printable``.
"""

from __future__ import annotations

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Header, Input

from codeagent.agent.events import (
    AgentEvent,
    FixFound,
    SessionStarted,
    TurnFinished,
    printable_text,
)
from codeagent.agent.inbox import Inbox
from codeagent.errors import CodeagentError
from codeagent.tui.diff_view import DiffView
from codeagent.tui.host import Host
from codeagent.tui.messages import AgentMessage, Applied, SessionEnded
from codeagent.tui.stats_pane import StatsPane
from codeagent.tui.transcript import Transcript

DEFAULT_REQUEST = "fix the failing tests"


class FixApp(App[str]):
    CSS_PATH = "app.tcss"
    TITLE = "codeagent"
    BINDINGS = [
        Binding("s", "toggle_stats", "Stats"),
        Binding("a", "accept", "Accept"),
        Binding("r", "reject", "Reject"),
        Binding("c", "changes", "Ask changes"),
        Binding("ctrl+q", "quit", "Quit"),
        Binding("ctrl+s", "screenshot(None, '.')", "Screenshot", show=False),
    ]

    def __init__(self, host: Host, *, start: str | None = None) -> None:
        super().__init__()
        self.host = host
        self.start_request = start
        self.inbox: Inbox | None = None
        self.patch = ""
        self.accepted = False
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            with Vertical(id="work"):
                yield Transcript(id="transcript")
                yield DiffView(id="diff")
            yield StatsPane(id="stats")
        yield Input(placeholder=f"{DEFAULT_REQUEST} (or a test id, or an instruction)", id="ask")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = printable_text(self.host.repo)
        if self.start_request is not None:
            self.start(self.start_request)
        else:
            self.query_one(Input).focus()

    # --- the session -------------------------------------------------------------------

    def start(self, request: str) -> None:
        self.inbox = Inbox()
        self.running = True
        self.patch, self.accepted = "", False
        self.query_one(DiffView).hide()
        self.query_one(StatsPane).connection_opening()
        self.refresh_bindings()
        self._session(request or DEFAULT_REQUEST, self.inbox)

    @work(thread=True, exclusive=True, group="session")
    def _session(self, request: str, inbox: Inbox) -> None:
        try:
            finished = self.host.run(request, self._post, inbox)
        except CodeagentError as exc:
            self.post_message(SessionEnded(None, str(exc)))
        except Exception as exc:  # a bug of ours: shown in the app, never a traceback
            self.post_message(SessionEnded(None, f"internal error: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(SessionEnded(finished))

    def _post(self, event: AgentEvent) -> None:
        self.post_message(AgentMessage(event))  # thread-safe

    def on_agent_message(self, message: AgentMessage) -> None:
        event = message.event
        self.query_one(Transcript).add(event)
        if isinstance(event, TurnFinished):
            self.query_one(StatsPane).add(event.stats)
        elif isinstance(event, FixFound):
            self.patch = event.diff
            self.query_one(DiffView).show(event.diff)
        elif isinstance(event, SessionStarted):
            self.sub_title = printable_text(f"{event.repo} · {event.model}")

    def on_session_ended(self, message: SessionEnded) -> None:
        self.running = False
        self.query_one(StatsPane).connection_closed()
        if message.finished is None:
            self.say(message.error, title="the session could not run", severity="error")
        elif message.finished.patch:
            self.patch = message.finished.patch
            self.query_one(DiffView).show(self.patch)
            self.query_one(DiffView).focus()
        self.refresh_bindings()

    @on(Input.Submitted, "#ask")
    def ask(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if self.running and self.inbox is not None:
            self.inbox.put(text)  # goes to the model with the next turn
            self.say("sent with the next turn", timeout=2)
        elif text or not self.running:
            self.start(text)

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A notification whose text is shown as written (never markup), printable."""
        self.notify(
            printable_text(message),
            title=printable_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # --- the patch ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The review keys are in the footer only while a fix waits for a decision."""
        if action in {"accept", "reject", "changes"}:
            return self.reviewing
        return True

    @property
    def reviewing(self) -> bool:
        return bool(self.patch) and not self.accepted and not self.running and self._shown

    @property
    def _shown(self) -> bool:
        return self.query_one(DiffView).display

    def action_accept(self) -> None:
        if self.patch and not self.accepted and not self.running:
            self._apply(self.patch)

    @work(thread=True, group="apply")
    def _apply(self, patch: str) -> None:
        try:
            self.post_message(Applied(self.host.apply(patch), True))
        except CodeagentError as exc:
            self.post_message(Applied(str(exc), False))

    def on_applied(self, message: Applied) -> None:
        if message.ok:
            self.accepted = True
            self.query_one(DiffView).hide()
            self.say(message.message, title="applied")
        else:
            self.say(message.message, title="not applied", severity="error")
        self.refresh_bindings()

    def action_reject(self) -> None:
        if self.patch and not self.accepted:
            self.query_one(DiffView).hide()
            self.say("rejected; quitting keeps it as a patch file", timeout=3)
            self.refresh_bindings()

    def action_changes(self) -> None:
        if self.patch and not self.running:
            box = self.query_one(Input)
            box.value = "Change the fix: "
            box.focus()

    def action_toggle_stats(self) -> None:
        pane = self.query_one(StatsPane)
        pane.display = not pane.display

    async def action_quit(self) -> None:
        if self.patch and not self.accepted:
            self._save_and_exit(self.patch)
        else:
            self.exit("")

    @work(thread=True, group="save")
    def _save_and_exit(self, patch: str) -> None:
        try:
            where = f"the fix was not applied; it is saved as {self.host.save(patch)}"
        except CodeagentError as exc:
            where = f"the fix was not applied, and could not be saved: {exc}"
        self.call_from_thread(self.exit, where)
