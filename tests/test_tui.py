"""The Textual interface, driven with Pilot: a whole session over a real local connection with
the scripted model, and deterministic SVG snapshots of its three main states."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.message import Message
from textual.widgets import Collapsible, Input, Static

from codeagent.agent import events as ev
from codeagent.agent.inbox import Inbox
from codeagent.cli.fix_settings import FixSettings
from codeagent.cli.tui_host import CliHost
from codeagent.errors import WorkspaceError
from codeagent.server.config import ServerConfig
from codeagent.server.run import BackgroundServer
from codeagent.testing.replay_host import ReplayHost
from codeagent.testing.scripted import ScriptedBackend, Step
from codeagent.transport.stats import TurnStats
from codeagent.tui.app import FixApp
from codeagent.tui.diff_view import DiffView
from codeagent.tui.messages import AgentMessage, Applied, SessionEnded
from codeagent.tui.stats_pane import StatsPane
from codeagent.tui.transcript import Transcript
from tests.conftest import git
from tests.test_fix_scripted import FIX


@pytest.fixture
def scripted_url() -> Iterator[Any]:
    servers: list[BackgroundServer] = []

    def serve(*steps: Step) -> str:
        server = BackgroundServer(ScriptedBackend(list(steps)), ServerConfig(port=0))
        servers.append(server.__enter__())
        return server.base_url

    yield serve
    for server in servers:
        server.__exit__(None, None, None)


async def test_a_whole_session_streams_shows_the_diff_and_applies_it(
    repo: Path, scripted_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(repo.parent / "cache"))
    for name in [k for k in os.environ if k.startswith(("CODEAGENT_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    url = scripted_url(
        Step(say="Let me look at how mean() divides."),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    settings = FixSettings(base_url=url, strategy="tools", python=sys.executable, max_time=120)
    host = CliHost(repo, settings)
    seen: list[Message] = []
    app = FixApp(host, start="fix the failing tests")
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        events = [m.event for m in seen if isinstance(m, AgentMessage)]
        kinds = [e.kind for e in events]
        # Text streamed in, in pieces, before the whole reply was known.
        deltas = [e.text for e in events if isinstance(e, ev.ModelDelta)]
        assert len(deltas) > 1
        assert "".join(deltas) == "Let me look at how mean() divides."
        assert kinds.index("model_delta") < kinds.index("model_text")
        assert "Let me look at how mean() divides." in _text(app.query_one(Transcript))
        # The side pane's figures changed after each turn.
        pane = app.query_one(StatsPane)
        finished_turns = [e for e in events if isinstance(e, ev.TurnFinished)]
        assert len(pane.turns) == len(finished_turns) >= 3
        assert all(t.chained for t in pane.turns[1:])  # one chain: only new items each turn
        figures = str(pane.query_one("#figures", Static).render())
        assert f"turn {pane.turns[-1].index}" in figures
        assert f"{len(pane.turns)} turns" in figures
        assert pane.closed_at is not None  # the session ended: its connection's uptime stopped
        assert "was up 0:0" in figures
        # The diff is up for review.
        ended = [m for m in seen if isinstance(m, SessionEnded)]
        assert ended[0].finished is not None
        assert ended[0].finished.outcome == "fixed"
        assert app.query_one(DiffView).display
        assert "-    return sum(values) / (len(values) - 1)" in app.patch
        assert "+    return sum(values) / len(values)" in app.patch
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
    applied = [m for m in seen if isinstance(m, Applied)]
    assert applied
    assert applied[0].ok
    assert "len(values)\n" in (repo / "calc" / "ops.py").read_text()
    assert git(repo, "branch", "--show-current").startswith("codeagent/fix-")


async def test_an_instruction_mid_session_goes_to_the_model_on_the_same_connection(
    repo: Path, scripted_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(repo.parent / "cache"))
    url = scripted_url(
        Step(say="Reading the code.", expect="check mean"),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    settings = FixSettings(base_url=url, strategy="tools", python=sys.executable, max_time=120)
    app = FixApp(CliHost(repo, settings), start=None)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        app.start("fix the failing tests")
        assert app.inbox is not None
        app.inbox.put("check mean first")  # typed while the first test run goes
        await app.workers.wait_for_complete()
        await pilot.pause()
    events = [m.event for m in seen if isinstance(m, AgentMessage)]
    said = [e for e in events if isinstance(e, ev.UserInput)]
    assert [s.text for s in said] == ["check mean first"]
    finished = [e for e in events if isinstance(e, ev.Finished)]
    assert finished[-1].outcome == "fixed"
    turns = [e.stats for e in events if isinstance(e, ev.TurnFinished)]
    assert sum(t.handshakes for t in turns) == 1


async def test_errors_are_shown_in_the_app_and_quitting_keeps_the_patch() -> None:
    host = ReplayHost(RECORDING)
    host.refuse_apply = "calc/ops.py has uncommitted changes"
    app = FixApp(host, start="fix the failing tests")
    notes: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=notes.append) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        refused = [m for m in notes if isinstance(m, Applied)]
        assert refused
        assert not refused[0].ok
        await pilot.press("ctrl+q")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert host.saved == [PATCH]
    assert app.return_value == "the fix was not applied; it is saved as /tmp/codeagent-fix.patch"


def _text(widget: Transcript) -> str:
    return "\n".join(str(s.render()) for s in widget.query(Static))


# --- snapshots: deterministic recordings, no I/O ---------------------------------------------

PATCH = FIX.replace("--- a/", "diff --git a/calc/ops.py b/calc/ops.py\n--- a/", 1)


def _stats(index: int, generate: bool, ttft: float | None, total: float, cached: int) -> TurnStats:
    return TurnStats(
        index=index, transport="websocket", response_id=f"resp_{index}", status="completed",
        generate=generate, chained=index > 0, retried=False, bytes_sent=1200 if index else 4500,
        bytes_received=3000, handshakes=1 if index == 0 else 0,
        full_resend_bytes=4500 + 1200 * index, time_to_first_event=0.01,
        time_to_first_token=ttft, total_time=total, input_tokens=1100 + 200 * index,
        cached_tokens=cached, output_tokens=0 if not generate else 20,
    )  # fmt: skip


MID_FIX: list[ev.AgentEvent] = [
    ev.SessionStarted(
        "sample_repos/calc",
        "/tmp/work/calc",
        "guided",
        "SmolLM2-135M-Instruct",
        "embedded",
        "/usr/bin/python3",
        "pytest",
    ),
    ev.TestsRun(
        "initial",
        3,
        1,
        0,
        0.21,
        ("tests/test_ops.py::test_mean",),
        "AssertionError: assert 3.0 == 2.0",
    ),
    ev.Localised(
        (ev.SuspectLine("calc/ops.py", 20, 0.9), ev.SuspectLine("calc/ops.py", 18, 0.4)), 0.01
    ),
    ev.ContextBuilt(79, 3, ("calc/ops.py",)),
    ev.TurnStarted(0, "warmup"),
    ev.TurnFinished(_stats(0, False, None, 1.9, 0)),
    ev.TurnStarted(1, "propose"),
    ev.ModelDelta(1, "return sum(values) "),
    ev.ModelDelta(1, "/ len(values)"),
    ev.ModelText(1, "return sum(values) / len(values)"),
    ev.TurnFinished(_stats(1, True, 0.31, 0.9, 1100)),
    ev.CandidateTested(1, "failing", "AssertionError: assert 6.0 == 2.0", 0.05),
    ev.CandidateTested(2, "failing", "AssertionError: assert 1.5 == 2.0", 0.05),
    ev.TurnStarted(2, "propose"),
    ev.ModelText(2, "return total / count"),
    ev.TurnFinished(_stats(2, True, 0.42, 1.1, 1300)),
]
RECORDING: list[ev.AgentEvent] = [
    *MID_FIX,
    ev.CandidateTested(3, "fixed", "4 passed", 0.07),
    ev.FixFound(3, "line 20: `len(values) - 1` -> `len(values)`", PATCH),
    ev.Finished(
        "fixed",
        0,
        "line 20: `len(values) - 1` -> `len(values)`",
        PATCH,
        3,
        6.2,
        3,
        6900,
        19800,
        3700,
        2400,
        40,
        4.1,
        1.6,
        0.02,
    ),
]


class _Frozen:
    """The stats pane's clock, frozen: snapshots must not show the time they were taken."""

    now = 1000.0

    @classmethod
    def monotonic(cls) -> float:
        return cls.now


def _replayed(events: list[ev.AgentEvent], start: bool) -> FixApp:
    return FixApp(ReplayHost(events), start="fix the failing tests" if start else None)


def test_snapshot_idle(snap_compare: Any) -> None:
    assert snap_compare(_replayed([], start=False), terminal_size=(80, 24))


def test_snapshot_mid_fix_with_the_side_pane(snap_compare: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("codeagent.tui.stats_pane.time", _Frozen)
    finished = ev.Finished("not_fixed", 1, "budget exceeded: 3 of 3 turns", "", 3, 4.0, 2, 6900,
                           19800, 3700, 2400, 40)  # fmt: skip
    app = _replayed([*MID_FIX, finished], start=True)

    async def settle(pilot: Any) -> None:
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


def test_snapshot_diff_review(snap_compare: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("codeagent.tui.stats_pane.time", _Frozen)
    app = _replayed(RECORDING, start=True)

    async def settle(pilot: Any) -> None:
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


async def test_typing_while_a_session_runs_sends_it_to_the_session() -> None:
    app = FixApp(ReplayHost([]), start=None)
    async with app.run_test(size=(80, 24)) as pilot:
        app.running, app.inbox = True, Inbox()
        await pilot.click("#ask")
        await pilot.press(*"look at mean()", "enter")
        await pilot.pause()
        assert app.inbox.drain() == ["look at mean()"]
        assert app.query_one("#ask", Input).value == ""


# --- text from the model, the repository and the tests is shown as written ------------------

MARKUP = "x[/i] [b]bold?[/b] [$accent] [@click=app.quit]q[/] [ bold] end\\"
"""Rich and Textual markup (a closing tag with no opening one raises ``MarkupError``), a
variable, an action, a backslash at the end: what a model, a repository or a test may hold."""
BAD = os.fsdecode(b"caf\xe9")  # a lone surrogate: a name that was not UTF-8


class _FailingHost(ReplayHost):
    def run(self, request: str, emit: Any, inbox: Inbox) -> ev.Finished:
        for event in self.events:
            emit(event)
        raise WorkspaceError(f"cannot copy {MARKUP}/{BAD}")


async def test_text_from_the_model_repo_and_tests_is_never_markup() -> None:
    path = f"pkg/{MARKUP}.py"
    test_id = f"tests/test_{BAD}.py::test_[/i]"
    patch = f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-[/i]\n+{MARKUP} {BAD}\n"
    events: list[ev.AgentEvent] = [
        ev.SessionStarted(
            f"/src/{MARKUP}/{BAD}",
            "/w",
            "tools",
            f"model[/i]{BAD}",
            "http://h/v1",
            "/py",
            "t",
            sources={"max_turns": f"project config /src/{MARKUP}/.codeagent.toml"},
            sandbox=f"none: {MARKUP}",
        ),
        ev.TestsRun("initial", 1, 1, 0, 0.1, (test_id,), f"AssertionError: {MARKUP}"),
        ev.Localised((ev.SuspectLine(path, 3, 0.9),), 0.01),
        ev.TurnStarted(1, "tools"),
        ev.ModelDelta(1, f"model says {MARKUP} "),
        ev.ModelDelta(1, BAD),
        ev.ModelText(1, f"model says {MARKUP} {BAD}"),
        ev.ToolCalled(MARKUP, "{}", False, f"no such tool {MARKUP}"),
        ev.UserInput(f"you typed {MARKUP}"),
        ev.Note("warning", f"ignored 'base_url' from the project config {MARKUP}"),
        ev.CandidateTested(1, "fixed", f"passed {MARKUP}", 0.1),
        ev.FixFound(1, f"line 3: {MARKUP}", patch),
        ev.Finished("fixed", 0, f"fixed {MARKUP} {BAD}", patch, 1, 1.0, 1, 1, 1, 1, 1, 1),
    ]
    host = ReplayHost(events, repo=f"/src/{MARKUP}/{BAD}")
    host.refuse_apply = f"{path} has uncommitted changes"
    seen: list[Message] = []
    app = FixApp(host, start="fix the failing tests")
    async with app.run_test(size=(160, 60), message_hook=seen.append) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("a")  # refused: the notification quotes the path
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = _text(app.query_one(Transcript))
        fixed = MARKUP.replace(BAD, "caf\ufffd")
        for literal in (
            f"fixing /src/{fixed}/caf\ufffd · model[/i]caf\ufffd via http://h/v1",
            f"settings from project config /src/{MARKUP}/.codeagent.toml: max_turns",
            f"sandbox: none: {MARKUP}",
            f"suspects: {path}:3",
            f"model: model says {MARKUP} caf\ufffd",
            f"tool {MARKUP} error: no such tool {MARKUP}",
            f"you: you typed {MARKUP}",
            f"warning: ignored 'base_url' from the project config {MARKUP}",
            f"fixed: passed {MARKUP}",
            f"fix found: line 3: {MARKUP}",
            f"fixed: fixed {MARKUP} caf\ufffd",
        ):
            assert literal in shown, literal
        assert "\udce9" not in shown
        folded = app.query_one(Transcript).query(Collapsible).first()
        folded.collapsed = False
        await pilot.pause()
        assert f"tests/test_caf\ufffd.py::test_[/i]\n\nAssertionError: {MARKUP}" in _text(
            app.query_one(Transcript)
        )
        diff = app.query_one("#patch", Static).content
        assert isinstance(diff, Syntax)  # highlighted as a diff, not read as markup
        assert f"+{MARKUP} caf\ufffd" in diff.code
        assert app.patch == patch  # what is applied or saved keeps the exact text
        toasts = [n.message for n in app._notifications]
        assert f"{path} has uncommitted changes" in toasts
        assert app.sub_title == f"/src/{MARKUP}/caf\ufffd · model[/i]caf\ufffd"
        await pilot.press("ctrl+q")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert host.saved == [patch]


async def test_an_error_with_markup_is_shown_as_written() -> None:
    app = FixApp(_FailingHost([]), start="fix the failing tests")
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
    assert toasts == [f"cannot copy {MARKUP}/caf\ufffd"]
