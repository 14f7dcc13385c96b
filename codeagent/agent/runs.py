"""Test runs as the session reports them: the ``TestsRun`` event of a ``TestReport``."""

from __future__ import annotations

from codeagent.agent.bench import Bench
from codeagent.agent.events import TestsRun
from codeagent.tools.testresults import TestReport


def tests_event(purpose: str, report: TestReport) -> TestsRun:
    failures = report.failures
    return TestsRun(
        purpose=purpose,
        passed=len(report.passed),
        failed=len(failures),
        skipped=sum(1 for c in report.cases if c.outcome == "skipped"),
        seconds=round(report.duration, 3),
        failing=tuple(c.nodeid for c in failures),
        message=next((c.message.strip()[:300] for c in failures if c.message), ""),
        timed_out=report.timed_out,
    )


def run_and_report(bench: Bench, purpose: str, *, everything: bool) -> TestReport:
    """The targets (or the whole suite), reported as an event."""
    select = None if everything else bench.validator.targets
    report = bench.tests.run(select, timeout=bench.options.test_timeout)
    bench.emit(tests_event(purpose, report))
    return report
