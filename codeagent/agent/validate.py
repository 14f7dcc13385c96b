"""``Validator``: is a candidate a fix? Write it into the work copy, run the tests, restore.

A candidate is tried in two runs: the target tests (the ones failing at the start) first, since
most candidates fail there and that run is cheap; then, only if they all pass, the whole suite,
since a fix must not break a test that passed. What each run must show is ``Expectations``'
(the session's, from the first run): a run that did not end as pytest meant, a target that was
skipped or never ran, a test that passed at the start and no longer does, fewer tests run than
at the start: none of these is green. The file is always restored afterwards unless the caller
keeps the candidate. A candidate is refused without running anything when ``Guard`` refuses its
file (the tests, pytest's configuration...), when its new code reaches into the test harness
(``tamper``), when it makes ``__exit__`` swallow exceptions, or when it leaves the work copy.

The work copy and the test runner come in as the two small protocols below, so the strategies
can be tested without processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from codeagent.agent.candidate import Candidate
from codeagent.agent.expectations import Expectations
from codeagent.agent.guard import Guard
from codeagent.agent.pysource import enclosing
from codeagent.agent.tamper import harness_reach
from codeagent.errors import WorkspaceError
from codeagent.tools.testresults import TestReport


class Files(Protocol):
    @property
    def root(self) -> Path:
        """The project directory inside the work copy."""
        ...

    def read(self, rel: str) -> str: ...

    def write(self, rel: str, text: str) -> None: ...

    def delete(self, rel: str) -> None: ...

    def diff(self) -> str: ...

    def settle(self) -> tuple[str, ...]:
        """Undo what a test run left in the copy (files it made, changed or deleted); the
        paths it undid."""
        ...


class Tests(Protocol):
    def run(
        self,
        select: Sequence[str] | None = None,
        *,
        coverage: bool = False,
        exitfirst: bool = False,
        timeout: float | None = None,
    ) -> TestReport: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    """``fixed``, ``improved`` (some targets pass now, nothing broke), ``failing``,
    ``regressed``, ``rejected`` or ``timeout``."""
    detail: str
    seconds: float
    passing_targets: tuple[str, ...] = ()
    """Targets that pass with the candidate."""

    @property
    def green(self) -> bool:
        return self.outcome == "fixed"


def screen(guard: Guard, path: str, old: str | None, new: str | None) -> str | None:
    """Why a change of ``path`` from ``old`` to ``new`` (None: absent) is refused before any
    run, or None: the guarded files, and code that reaches into the test harness."""
    why = guard.refusal(path, old, new)
    if why is None and new is not None and path.endswith(".py"):
        reach = harness_reach(old, new)
        if reach is not None:
            why = f"{path}: the change reaches into the test harness ({reach}); fix the code"
    return why


class Validator:
    def __init__(
        self,
        files: Files,
        tests: Tests,
        expectations: Expectations,
        guard: Guard,
        *,
        timeout: float = 60.0,
    ) -> None:
        self.files = files
        self.tests = tests
        self.expectations = expectations
        self.guard = guard
        self.targets = expectations.targets
        """Node ids failing now (in the program being tried); a fix makes them pass."""
        self.timeout = timeout
        self.runs = 0
        self._held: dict[str, str] | None = None
        """Inside ``deferred``: path -> original text of files holding a candidate now."""

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Within, a tried file is put back only when a candidate of another file comes, or
        at the end (or never, when a kept candidate makes its text the new original):
        consecutive candidates of one file cost one write each, not two. On leaving, every
        file is as it was (or as kept)."""
        self._held = {}
        try:
            yield
        finally:
            held, self._held = self._held, None
            for path, text in held.items():
                self.files.write(path, text)

    def check(self, candidate: Candidate, *, keep: bool = False) -> Verdict:
        """Try ``candidate``; with ``keep`` a fix (or an improvement) stays in the work copy."""
        start = time.monotonic()
        if swallows_exceptions(candidate):
            return Verdict("rejected", "makes __exit__ swallow exceptions (the tests' too)", 0.0)
        held = self._held
        try:
            original = held.get(candidate.path) if held is not None else None
            if original is None:
                original = self.files.read(candidate.path)
        except WorkspaceError as exc:
            return Verdict("rejected", str(exc), 0.0)
        if candidate.new_source == original:
            return Verdict("rejected", "changes nothing", 0.0)
        refused = screen(self.guard, candidate.path, original, candidate.new_source)
        if refused is not None:
            return Verdict("rejected", refused, 0.0)
        try:
            if held:  # another file still holds the last candidate: judge this one alone
                for path in [p for p in held if p != candidate.path]:
                    self.files.write(path, held.pop(path))
            self.files.write(candidate.path, candidate.new_source)
        except WorkspaceError as exc:
            return Verdict("rejected", str(exc), 0.0)
        verdict = None
        try:
            verdict = self._judge(start)
            return verdict
        finally:
            if keep and verdict is not None and verdict.outcome in ("fixed", "improved"):
                if held is not None:
                    held.pop(candidate.path, None)
            elif held is not None:
                held.setdefault(candidate.path, original)
            else:
                self.files.write(candidate.path, original)

    def _judge(self, start: float) -> Verdict:
        self.runs += 1
        first = self.tests.run(self.targets, timeout=self.timeout)
        if first.timed_out:
            return Verdict("timeout", "the target tests timed out", time.monotonic() - start)
        passing = tuple(
            c.nodeid for c in first.cases if c.outcome == "passed" and c.nodeid in self.targets
        )
        lacking = self.expectations.of_targets(first, self.targets)
        if lacking:
            detail = _first_message(first) or lacking[0]
            if passing and first.complete:
                return self._partial(start, passing, detail)
            return Verdict("failing", detail, time.monotonic() - start, passing)
        self.runs += 1
        suite = self.tests.run(timeout=self.timeout)
        seconds = time.monotonic() - start
        if suite.timed_out:
            return Verdict("timeout", "the test suite timed out", seconds, passing)
        lacking = self.expectations.of_suite(suite)
        if not lacking:
            return Verdict("fixed", f"{len(suite.passed)} passed", seconds, passing)
        return Verdict("regressed", "; ".join(lacking), seconds, passing)

    def _partial(self, start: float, passing: tuple[str, ...], detail: str) -> Verdict:
        """Some targets pass now: an improvement if the whole suite ran to its end and lost no
        test that passed (a fix that needs two edits is found one edit at a time)."""
        self.runs += 1
        suite = self.tests.run(timeout=self.timeout)
        seconds = time.monotonic() - start
        still = tuple(t for t in self.targets if t not in passing)
        lacking = self.expectations.of_suite(suite, keep=passing, may_fail=still)
        if not lacking:
            return Verdict(
                "improved", f"{len(still)} of {len(self.targets)} still fail", seconds, passing
            )
        return Verdict("failing", detail, seconds, passing)


def _first_message(report: TestReport) -> str:
    for case in report.failures:
        if case.message:
            return case.message.strip().splitlines()[0][:200]
    return ""


def swallows_exceptions(candidate: Candidate) -> bool:
    """A context manager's ``__exit__`` that now returns a true value: every exception in the
    ``with`` block is swallowed, the failing test's own ``assert`` included, so the test
    "passes". A known way for a repair to overfit the tests (Tan et al., "Anti-patterns in
    search-based program repair", FSE 2016, on removing the checks that fail)."""
    if "__exit__" not in candidate.new_source and "__aexit__" not in candidate.new_source:
        return False  # the common case, without a parse
    span = enclosing(candidate.new_source, candidate.line)
    if span is None or not span.qualname.endswith(("__exit__", "__aexit__")):
        return False
    line = candidate.new_source.splitlines()[candidate.line - 1].strip()
    return line.startswith("return ") and line.split(None, 1)[1] not in ("None", "False")
