"""``fix``: one fix session from the first test run to its ``Finished`` event.

Run the tests once with per-test coverage; nothing failing ends it there. The failures are run
again, and those that pass then are flaky, said and left out (only flaky failures: not fixed).
Localise, show the model the failure and the suspect code (the static prefix, sent once), then
hand over to the strategy, which ends by raising a ``Stop``: every way out is caught here, in one
place, and becomes the ``Finished`` event with its exit code. "Fixed" is never claimed with an
empty patch. Errors of the model, the transport or the tests end it too, as ``outcome: error``
with their exit code and one clear line. After every test run the work copy is settled: what a
run leaves behind never reaches the next run or the patch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from codeagent.agent.bench import Bench, FixOptions
from codeagent.agent.context import repo_map
from codeagent.agent.conversation import Conversation, Emit, Usage
from codeagent.agent.events import ContextBuilt, Finished, Localised, Note, SuspectLine
from codeagent.agent.expectations import Expectations, shortfalls
from codeagent.agent.guard import Guard
from codeagent.agent.guided import run_guided
from codeagent.agent.inbox import Inbox
from codeagent.agent.localise import localise
from codeagent.agent.outcome import (
    EXIT_MODEL,
    EXIT_TESTS,
    EXIT_USAGE,
    Fixed,
    Flaky,
    GaveUp,
    NothingToFix,
    Stop,
)
from codeagent.agent.runs import tests_event
from codeagent.agent.toolcalls import run_tools
from codeagent.agent.validate import Files, Tests, Validator
from codeagent.errors import (
    ApiError,
    BackendError,
    CodeagentError,
    ConfigError,
    TestRunError,
    ToolError,
    TransportError,
)
from codeagent.tools.testresults import TestReport
from codeagent.transport.client import ResponsesClient

log = logging.getLogger(__name__)

Strategy = Callable[[Bench], Awaitable[None]]
STRATEGIES: dict[str, Strategy] = {"guided": run_guided, "tools": run_tools}


async def fix(
    files: Files,
    tests: Tests,
    client: ResponsesClient,
    options: FixOptions,
    emit: Emit,
    *,
    index_cache_for: Path | None = None,
    inbox: Inbox | None = None,
) -> Finished:
    """Run the session; never raises for what a session can meet (see the module docstring).
    ``inbox``: instructions a person sends meanwhile; they go with the next turn."""
    usage = Usage()
    conversation = Conversation(client, emit, options.budget, usage, inbox)
    tests = TimedTests(tests, usage, files, emit)
    try:
        # Test runs and localisation run off the event loop, so the connection stays served
        # meanwhile (keepalive pings answered, events read) however long the suite takes.
        bench = await asyncio.to_thread(
            _prepare,
            files=files,
            tests=tests,
            conversation=conversation,
            options=options,
            emit=emit,
            usage=usage,
            index_cache_for=index_cache_for,
        )
        await STRATEGIES[options.strategy](bench)
        raise GaveUp("the strategy ended without a fix")
    except Stop as stop:
        outcome, code, reason = stop.outcome, stop.exit_code, str(stop)
        patch = stop.patch if isinstance(stop, Fixed) else ""
    except CodeagentError as exc:
        outcome, code, reason = "error", exit_code_of(exc), f"{type(exc).__name__}: {exc}"
        patch = ""
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in the log
        log.exception("internal error")
        outcome, code, reason = "error", EXIT_MODEL, f"internal error: {type(exc).__name__}: {exc}"
        patch = ""
    if outcome == "fixed" and not patch:
        patch = files.diff()
        if not patch:
            outcome, code = "not_fixed", 1
            reason = "the tests passed with no change to the code: the failure did not come back"
    totals = conversation.totals()
    finished = Finished(
        outcome=outcome,
        exit_code=code,
        reason=reason,
        patch=patch,
        turns=totals.turns,
        seconds=round(usage.seconds, 3),
        candidates=usage.candidates,
        bytes_sent=totals.bytes_sent,
        full_resend_bytes=totals.full_resend_bytes,
        input_tokens=totals.input_tokens,
        cached_tokens=totals.cached_tokens,
        output_tokens=totals.output_tokens,
        model_seconds=round(usage.model_seconds, 3),
        test_seconds=round(usage.test_seconds, 3),
        setup_seconds=round(usage.setup_seconds, 3),
    )
    emit(finished)
    return finished


class TimedTests:
    """The test runner as the session uses it: its wall time added to the session's usage, and
    the work copy settled after every run (said once when a run left something)."""

    def __init__(self, tests: Tests, usage: Usage, files: Files, emit: Emit) -> None:
        self._tests = tests
        self._usage = usage
        self._files = files
        self._emit = emit
        self._told = False

    def run(
        self,
        select: Sequence[str] | None = None,
        *,
        coverage: bool = False,
        exitfirst: bool = False,
        timeout: float | None = None,
    ) -> TestReport:
        start = time.monotonic()
        try:
            return self._tests.run(select, coverage=coverage, exitfirst=exitfirst, timeout=timeout)
        finally:
            undone = self._files.settle()
            self._usage.test_seconds += time.monotonic() - start
            if undone and not self._told:
                self._told = True
                shown = ", ".join(undone[:3]) + (" ..." if len(undone) > 3 else "")
                self._emit(Note("info", f"the tests leave files behind ({shown}): each run's "
                                        "are removed before the next"))  # fmt: skip


def exit_code_of(exc: CodeagentError) -> int:
    if isinstance(exc, TestRunError):
        return EXIT_TESTS
    if isinstance(exc, ApiError | TransportError | BackendError | ToolError):
        return EXIT_MODEL
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    return EXIT_MODEL


def _prepare(
    *,
    files: Files,
    tests: Tests,
    conversation: Conversation,
    options: FixOptions,
    emit: Emit,
    usage: Usage,
    index_cache_for: Path | None,
) -> Bench:
    baseline = tests.run(coverage=True, timeout=options.test_timeout)
    emit(tests_event("initial", baseline))
    if baseline.timed_out:
        raise TestRunError(f"the tests timed out after {options.test_timeout:.0f} s")
    if not baseline.ran:
        last = baseline.output.strip().splitlines()[-1:] or [f"exit status {baseline.exit_code}"]
        raise TestRunError(f"the tests could not run: {last[0][:300]}")
    if baseline.green:
        raise NothingToFix()
    failing = [c.nodeid for c in baseline.failures]
    if not failing:
        lacking = shortfalls(baseline, must_pass=())
        raise TestRunError(f"the tests did not finish: {'; '.join(lacking) or 'no outcome'}")
    targets = _stable(tests, failing, options, emit)
    start = time.monotonic()
    sources = _sources(files, baseline)
    suspects = localise(baseline, sources)
    emit(
        Localised(
            tuple(SuspectLine(s.path, s.line, round(s.score, 4), s.reasons) for s in suspects[:20]),
            round(time.monotonic() - start, 3),
        )
    )
    focus = list(dict.fromkeys([s.path for s in suspects[:10]]))
    view = repo_map(files.root, focus, options.map_tokens, cache_for=index_cache_for)
    emit(ContextBuilt(view.tokens, view.files, tuple(focus)))
    usage.setup_seconds = time.monotonic() - start
    validator = Validator(
        files,
        tests,
        Expectations.from_baseline(baseline, targets),
        Guard(files.root, baseline.layout, allow_test_edits=options.allow_test_edits),
        timeout=options.test_timeout,
    )
    return Bench(
        files=files,
        tests=tests,
        validator=validator,
        conversation=conversation,
        emit=emit,
        usage=usage,
        options=options,
        baseline=baseline,
        suspects=suspects,
        sources=sources,
        repo_map=view.text,
    )


def _stable(tests: Tests, failing: list[str], options: FixOptions, emit: Emit) -> list[str]:
    """The failures that come back when run again: alone first; those that pass alone, in the
    whole suite (a test may fail only after another). The rest are flaky: said, left out."""
    again = tests.run(failing, timeout=options.test_timeout)
    emit(tests_event("rerun", again))
    if again.timed_out:
        return failing  # cannot tell: all stay
    still = {c.nodeid for c in again.failures}
    alone = [t for t in failing if t not in still]
    if alone:
        suite = tests.run(timeout=options.test_timeout)
        emit(tests_event("rerun", suite))
        still.update(c.nodeid for c in suite.failures if c.nodeid in alone)
    flaky = [t for t in failing if t not in still]
    if flaky:
        shown = ", ".join(flaky[:3]) + (f" and {len(flaky) - 3} more" if len(flaky) > 3 else "")
        emit(Note("warning", f"flaky: {shown} failed, then passed when run again: left out"))
    stable = [t for t in failing if t in still]
    if not stable:
        raise Flaky(flaky)
    return stable


def _sources(files: Files, report: TestReport) -> dict[str, str]:
    """The Python files the run touched: covered, on a failing trace, or a failing test's."""
    paths: set[str] = set()
    if report.coverage is not None:
        for lines in report.coverage.per_test.values():
            paths.update(lines)
        paths.update(report.coverage.at_import)
    for case in report.failures:
        paths.add(case.path)
        paths.update(f.path for f in case.frames if f.in_repo)
    sources: dict[str, str] = {}
    for path in sorted(paths):
        if not path.endswith(".py"):
            continue
        try:
            sources[path] = files.read(path)
        except CodeagentError:
            continue
    return sources
