"""``Expectations``: what a test run must show for a candidate to count as a fix.

A run is green only when it really ran and passed, judged against the first run (the
baseline), never against what the run says of itself alone:

- pytest ended as it meant to: the probe saw the session end, with the exit status the process
  really had (a crash, a kill, an ``os._exit`` or a timeout never gets there; ``TestReport.
  complete``) and every test selected to run has an outcome;
- every test that must pass is recorded as passed: the targets (failing at the start) and, in a
  run of the whole suite, every test that passed at the start. Skipped, xfailed, deselected or
  missing is not passed;
- the whole suite ran at least as many tests as at the start (nothing deselected away).

``shortfalls`` says what is missing, in words for the model and the user; an empty list is
green. Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from codeagent.tools.testresults import TestReport

SHOWN = 3
"""Tests named in one shortfall (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class Expectations:
    """Fixed from the baseline run."""

    targets: tuple[str, ...]
    """The tests failing at the start (and again when re-run): a fix makes them pass."""
    passing: frozenset[str]
    """The tests that passed at the start: a fix keeps them passing."""
    collected: int | None = None
    """How many tests the whole suite ran at the start (None: unknown)."""

    @classmethod
    def from_baseline(cls, baseline: TestReport, targets: Iterable[str]) -> Expectations:
        return cls(
            targets=tuple(targets),
            passing=frozenset(c.nodeid for c in baseline.passed),
            collected=baseline.collected,
        )

    def of_targets(self, report: TestReport, targets: Collection[str]) -> list[str]:
        """What a run of ``targets`` alone lacks to be green."""
        return shortfalls(report, must_pass=targets)

    def of_suite(
        self, report: TestReport, *, keep: Collection[str] = (), may_fail: Collection[str] = ()
    ) -> list[str]:
        """What a run of the whole suite lacks to be green: every test that passed at the start
        and every original target must pass. For a partial fix, ``may_fail`` are the targets
        still allowed to fail, and ``keep`` the targets that must pass now besides the ones
        fixed before (the original targets not in ``may_fail``)."""
        must = set(self.passing) | set(keep)
        must.update(t for t in self.targets if t not in may_fail)
        return shortfalls(report, must_pass=must, collected=self.collected, may_fail=may_fail)


def shortfalls(
    report: TestReport,
    *,
    must_pass: Collection[str],
    collected: int | None = None,
    may_fail: Collection[str] = (),
) -> list[str]:
    """Why ``report`` is not green with ``must_pass`` required; ``[]`` when it is.
    ``may_fail``: tests whose failure is no shortfall (targets a partial fix leaves)."""
    problems: list[str] = []
    if report.timed_out:
        problems.append("the run timed out")
    elif not report.finished:
        problems.append(f"pytest did not finish ({_status(report.exit_code)})")
    elif report.end_status != report.exit_code:
        problems.append(
            f"pytest meant to exit with {report.end_status}, but the process exited with "
            f"{_status(report.exit_code)}"
        )
    failures = [c for c in report.failures if c.nodeid not in may_fail]
    if failures:
        problems.append(f"{_count(len(failures))} failed: {_names(c.nodeid for c in failures)}")
    outcomes = {c.nodeid: c.outcome for c in report.cases}
    missing = sorted(t for t in must_pass if outcomes.get(t) not in ("passed", "failed", "error"))
    if missing:
        shown = (f"{t} ({outcomes.get(t, 'not run')})" for t in missing)
        problems.append(f"{_count(len(missing))} that must pass did not run: {_names(shown)}")
    if report.finished and not report.failures and report.exit_code not in (0, 5):
        problems.append(f"pytest exited with {report.exit_code} and no test failed")
    if collected is not None and report.collected is not None and report.collected < collected:
        problems.append(
            f"pytest ran {report.collected} tests, {collected} at the start"
            + (f" ({report.deselected} deselected)" if report.deselected else "")
        )
    return problems


def _status(code: int) -> str:
    if code < 0:
        import signal  # noqa: PLC0415 - only for this message

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _count(n: int) -> str:
    return f"{n} test{'s' if n != 1 else ''}"


def _names(names: Iterable[str]) -> str:
    listed = list(names)
    shown = ", ".join(listed[:SHOWN])
    return shown + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else "")
