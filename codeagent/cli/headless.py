"""The headless reporter: ``AgentEvent``s as progress lines (stderr), JSON lines (stdout, with
``--json``), a trajectory file, and a Markdown summary for ``$GITHUB_STEP_SUMMARY``.

``codeagent replay FILE`` renders a trajectory with the same ``progress_line``.

Nothing written here can fail the session: text is ``printable`` (bytes that were not UTF-8
become U+FFFD), and a sink that fails (a reader that went away: ``codeagent fix --json | head
-1``) is dropped, its file descriptor pointed at ``/dev/null`` so that the interpreter's last
flush at exit has nowhere to fail either.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO

from codeagent.agent.events import (
    AgentEvent,
    CandidateProposed,
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
    TurnFinished,
    TurnStarted,
    UserInput,
    event_to_json,
    printable,
    printable_text,
)
from codeagent.errors import ConfigError


class Reporter:
    """Writes each event where it belongs; call ``close`` at the end."""

    def __init__(
        self,
        progress: IO[str] | None,
        jsonl: IO[str] | None = None,
        trajectory: Path | None = None,
        *,
        verbose: bool = False,
    ) -> None:
        self.progress = progress
        self.jsonl = jsonl
        self.verbose = verbose
        try:
            self._trajectory = trajectory.open("w", encoding="utf-8") if trajectory else None
        except OSError as exc:
            raise ConfigError(f"cannot write the trajectory {trajectory}: {exc.strerror}") from None
        self._proposed: dict[int, CandidateProposed] = {}
        self.events: list[AgentEvent] = []

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, ModelDelta):
            return  # streaming pieces: model_text carries the whole reply
        self.events.append(event)
        line = json.dumps(event_to_json(event), ensure_ascii=False)
        if self.jsonl is not None and not write_line(self.jsonl, line):
            self.jsonl = None
        if self._trajectory is not None and not write_line(self._trajectory, line):
            self._trajectory = None
            self._say("warning: the trajectory file could not be written further")
        if isinstance(event, CandidateProposed):
            self._proposed[event.id] = event
        text = progress_line(event, self._proposed, verbose=self.verbose)
        if text:
            self._say(text)

    def _say(self, text: str) -> None:
        if self.progress is not None and not write_line(self.progress, text):
            self.progress = None

    def close(self) -> None:
        if self._trajectory is not None:
            with contextlib.suppress(OSError):
                self._trajectory.close()
            self._trajectory = None


def write_line(sink: IO[str], line: str) -> bool:
    """Write ``line`` and a newline, and flush; ``False`` (the sink silenced: see the module's
    docstring) if the sink has failed."""
    try:
        sink.write(line + "\n")
        sink.flush()
    except (OSError, ValueError):  # a closed pipe (EPIPE), a full disk, a closed file
        _silence(sink)
        return False
    return True


def _silence(sink: IO[str]) -> None:
    """Point ``sink``'s descriptor at ``/dev/null``: what it still buffers is then flushed
    there at exit, instead of failing again (``Exception ignored ... BrokenPipeError``)."""
    try:
        fd = sink.fileno()
    except (OSError, ValueError):
        return  # no descriptor (a StringIO), or already closed
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def progress_line(
    event: AgentEvent, proposed: dict[int, CandidateProposed], *, verbose: bool = False
) -> str | None:
    """One line for a person watching, or ``None`` for events not worth a line; printable."""
    text = _progress_line(event, proposed, verbose=verbose)
    return printable_text(text) if text else text


def _progress_line(
    event: AgentEvent, proposed: dict[int, CandidateProposed], *, verbose: bool
) -> str | None:
    if isinstance(event, SessionStarted):
        sandbox = f"; sandbox: {event.sandbox}" if event.sandbox else ""
        settings = settings_line(event)
        return (
            f"codeagent: fixing {event.repo} ({event.strategy}, {event.model} via "
            f"{event.provider}) in {event.work_copy}{sandbox}"
        ) + (f"\n{settings}" if settings else "")
    if isinstance(event, TestsRun):
        if event.purpose == "candidate" and not verbose:
            return None
        failing = f" ({', '.join(event.failing[:3])}{' …' if len(event.failing) > 3 else ''})"
        timed = ", timed out" if event.timed_out else ""
        return (
            f"tests ({event.purpose}): {event.passed} passed, {event.failed} failed"
            f"{failing if event.failing else ''} in {event.seconds:.2f} s{timed}"
        )
    if isinstance(event, Localised):
        top = ", ".join(f"{s.path}:{s.line}" for s in event.suspects[:5])
        return f"suspects: {top or 'none'}"
    if isinstance(event, ContextBuilt):
        return f"context: repo map of {event.files} files ({event.map_tokens} tokens)"
    if isinstance(event, TurnStarted):
        return None
    if isinstance(event, ModelText):
        text = event.text.strip().replace("\n", " ")
        return f"  model: {text[:100]}{'…' if len(text) > 100 else ''}" if verbose else None
    if isinstance(event, TurnFinished):
        s = event.stats
        ttft = f", first token {s.time_to_first_token:.2f} s" if s.time_to_first_token else ""
        return (
            f"turn {s.index}{'' if s.generate else ' (warmup)'}: {s.total_time:.2f} s{ttft}, "
            f"{s.bytes_sent:,} B sent, cached {s.cached_tokens}/{s.input_tokens} tokens"
        )
    if isinstance(event, UserInput):
        return f"you: {event.text}"
    if isinstance(event, ToolCalled):
        return f"  tool {event.name}: {'ok' if event.ok else 'error'}: {event.summary[:80]}"
    if isinstance(event, CandidateProposed):
        return None
    if isinstance(event, CandidateTested):
        cand = proposed.get(event.id)
        if not verbose and event.outcome not in ("fixed", "improved"):
            return None
        what = f"[{cand.source}] {cand.path}: {cand.description}" if cand else f"#{event.id}"
        return f"  candidate {event.id} {what}: {event.outcome} ({event.detail})"
    if isinstance(event, FixFound):
        return f"fix: {event.description}"
    if isinstance(event, Note):
        return f"{event.level}: {event.message}"
    if isinstance(event, Finished):
        return finished_line(event)
    return None


def settings_line(event: SessionStarted) -> str:
    """The settings that came from a file or the environment, by source (``""``: none):
    ``settings: max_turns, strategy from project config /r/.codeagent.toml; ...``."""
    grouped = event.settings_by_source()
    if not grouped:
        return ""
    return "settings: " + "; ".join(
        f"{', '.join(names)} from {source}" for source, names in grouped.items()
    )


def finished_line(event: Finished) -> str:
    ratio = f"{event.cached_tokens / event.input_tokens:.0%}" if event.input_tokens else "-"
    return (
        f"{event.outcome.replace('_', ' ')}: {event.reason} — {event.turns} turns, "
        f"{event.seconds:.1f} s, {event.candidates} candidates, {event.bytes_sent:,} B sent "
        f"(full resend: {event.full_resend_bytes:,} B), cached tokens {ratio}; model "
        f"{event.model_seconds:.1f} s, tests {event.test_seconds:.1f} s, agent "
        f"{event.setup_seconds * 1000:.0f} ms setup + {event.per_turn_seconds * 1000:.0f} ms a turn"
    )


def step_summary(event: Finished, repo: str, patch_path: str | None) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (printable: it can always be written as UTF-8)."""
    event, repo = printable(event), printable_text(repo)
    patch_path = printable_text(patch_path) if patch_path else patch_path
    ratio = f"{event.cached_tokens:,} / {event.input_tokens:,}"
    lines = [
        f"### codeagent fix: {event.outcome.replace('_', ' ')}",
        "",
        f"{event.reason}",
        "",
        "| repository | result | turns | time | bytes sent | full resend would send | "
        "cached / input tokens |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| `{repo}` | {event.outcome} | {event.turns} | {event.seconds:.1f} s | "
        f"{event.bytes_sent:,} B | {event.full_resend_bytes:,} B | {ratio} |",
    ]
    if event.patch:
        lines += ["", "```diff", event.patch.rstrip(), "```"]
    if patch_path:
        lines += ["", f"Patch saved to `{patch_path}`."]
    return "\n".join(lines) + "\n"
