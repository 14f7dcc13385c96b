"""Fault localisation: rank the lines of the work copy most likely to hold the bug.

One test run with per-test coverage gives two kinds of evidence, and ``localise`` adds them:

- the spectrum (``sbfl``): which lines the failing tests ran and the passing ones did not,
  scored by a formula (DStar by default: it ranked best of the five on
  ``benchmarks/localise_eval.py``) and scaled so the best line has 1. A line that runs only at
  import time (a signature, a default, a decorator, a module constant) borrows the score of the
  lines that use what it made;
- the failures themselves (``trace``): the traceback, the code around the failure point, what
  ran at import time for the functions on the trace, and data flow from the failing assertion
  or the raising line (``flow``). Per line, each kind of clue counts once, averaged over the
  failing tests (a line every failure points at beats one a single failure does), and the kinds
  combine as independent evidence: ``1 - prod(1 - w)``.

A runtime line that no failing test ran keeps only ``NOT_RUN`` of its clues: for one fault, a
line the failing tests never reached rarely holds it. Ties are broken by the traceback (frames
first), then by distance to the failure point, then by place in the file, so the ranking is
deterministic. Test files, and lines that are not code (blank, comments, docstrings), are never
suspects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codeagent.agent import sbfl
from codeagent.agent.flow import Clue, sentinel
from codeagent.agent.outline import Outline
from codeagent.agent.program import Program
from codeagent.agent.statements import PASS_THROUGH, computes
from codeagent.agent.suspects import Suspect
from codeagent.agent.trace import Findings, read_failure
from codeagent.tools.testresults import Coverage, TestCase, TestReport, is_test_file

DEFAULT_FORMULA = "dstar"
SPECTRUM = 0.5
"""The weight of the spectrum score; the clues get the rest."""
NOT_RUN = 0.3
"""What a line no failing test ran keeps of its clues."""
TRACE_KINDS = frozenset({"raised", "trace", "handler", "before"})
"""The clues that come straight from traceback frames: the first tie-breaker."""
MAX_REASONS = 4

Location = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Scope:
    """The code to show for a suspect: its function or method, else its class, else the
    module-level statement."""

    path: str
    qualname: str
    """``f``, ``Class.method``, ``Class`` (a class-body line), ``<module>``."""
    start: int
    end: int
    """1-based, inclusive; decorators included."""


def localise(
    report: TestReport,
    sources: Mapping[str, str],
    *,
    limit: int = 50,
    formula: str = DEFAULT_FORMULA,
) -> list[Suspect]:
    """The ``limit`` most suspicious lines, most suspicious first; empty when nothing failed.

    ``report`` is the whole run (failing and passing tests), with coverage where the run traced
    it (without, only the failures' clues rank); ``sources`` maps each Python file of the work
    copy, tests included, to its text. ``formula`` names one of ``sbfl.FORMULAS``.
    """
    failing = report.failures
    if not failing:
        return []
    facts = _Facts.of(report, formula)
    unindexed = Program(sources, index=())
    program = unindexed.reindexed(facts.index(failing, unindexed))
    borrowed = _borrowed(program, facts.spectrum)
    findings = [
        read_failure(case, program, facts.covered(case.nodeid), facts.traced) for case in failing
    ]
    clues = _merge(findings)
    ranked: list[tuple[tuple[float, float, float, str, int], Suspect]] = []
    for loc in sorted(facts.spectrum.keys() | clues.keys() | borrowed.keys()):
        path, line = loc
        outline = program.get(path)
        if outline is None or is_test_file(path) or line not in outline.code_lines:
            continue
        kinds = clues.get(loc, {})
        evidence = _combine(kinds) * (1.0 if facts.ran(outline, line) else NOT_RUN)
        own = facts.spectrum.get(loc, 0.0)
        spectrum = max(own, borrowed.get(loc, 0.0))
        score = SPECTRUM * spectrum + (1 - SPECTRUM) * evidence
        if score <= 0:
            continue
        reasons = _reasons(kinds)
        if spectrum > 0:
            using = " of the code using it" if spectrum > own else ""
            reasons = (f"{formula} {spectrum:.2f}{using}", *reasons)[:MAX_REASONS]
        trace = sum(c.weight for kind, c in kinds.items() if kind in TRACE_KINDS)
        key = (-score, -trace, _distance(loc, findings), path, line)
        ranked.append((key, Suspect(path, line, round(score, 6), reasons)))
    ranked.sort(key=lambda item: item[0])
    return [suspect for _, suspect in ranked[:limit]]


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the run's coverage says, ready for look-ups."""

    coverage: Coverage | None
    counts: Mapping[Location, sbfl.Counts]
    spectrum: Mapping[Location, float]
    traced: frozenset[str]
    """Files the run traced at all."""
    at_import: frozenset[Location]

    @classmethod
    def of(cls, report: TestReport, formula: str) -> _Facts:
        coverage = report.coverage
        if coverage is None:
            return cls(None, {}, {}, frozenset(), frozenset())
        counts = sbfl.spectrum(coverage, report.cases)
        traced = {p for lines in coverage.per_test.values() for p in lines} | set(
            coverage.at_import
        )
        at_import = {(p, n) for p, lines in coverage.at_import.items() for n in lines}
        return cls(
            coverage,
            counts,
            sbfl.scores(counts, sbfl.FORMULAS[formula]),
            frozenset(traced),
            frozenset(at_import),
        )

    def index(self, failing: Sequence[TestCase], program: Program) -> set[str]:
        """The files whose functions a failing test may have called: those the failing tests
        ran and those on their tracebacks; without coverage, the failing tests' files, the
        files on their tracebacks and what those import."""
        paths = {f.path for case in failing for f in case.frames if f.in_repo}
        if self.coverage is None:
            return program.imported(paths | {case.path for case in failing})
        for case in failing:
            paths.update(self.coverage.per_test.get(case.nodeid, {}))
        return paths

    def covered(self, nodeid: str) -> Mapping[str, frozenset[int]] | None:
        return self.coverage.per_test.get(nodeid) if self.coverage is not None else None

    def ran(self, outline: Outline, line: int) -> bool:
        """Whether a failing test ran the line, or it runs at import time, or nothing says it
        did not (no coverage, an untraced file)."""
        loc = (outline.path, line)
        return (
            self.coverage is None
            or outline.path not in self.traced
            or (loc in self.counts and self.counts[loc].ef > 0)
            or loc in self.at_import
            or _runs_at_import(outline, line)
        )


def suspect_functions(
    suspects: Sequence[Suspect], sources: Mapping[str, str], *, limit: int = 5
) -> list[Scope]:
    """The code around the top suspects, one ``Scope`` each, deduplicated, in rank order, at
    most ``limit``: the innermost function or method holding the line (decorators and
    signature lines included), else the class whose body holds it, else the module-level
    statement."""
    program = Program({s.path: sources[s.path] for s in suspects if s.path in sources}, index=())
    scopes: list[Scope] = []
    for suspect in suspects:
        outline = program.get(suspect.path)
        if outline is None:
            continue
        fn = outline.function_at(suspect.line)
        if fn is not None:
            scope = Scope(suspect.path, fn.qualname, fn.start, fn.end)
        else:
            top = [t for t in outline.top if t[0] <= suspect.line <= t[1]]
            if not top:
                continue
            start, end, name = top[0]
            scope = Scope(suspect.path, name, start, end)
        if scope not in scopes:
            scopes.append(scope)
        if len(scopes) == limit:
            break
    return scopes


def _borrowed(program: Program, spectrum: Mapping[Location, float]) -> dict[Location, float]:
    """Lines that run only at import time (signatures, defaults, decorators, module constants,
    class attributes) have no spectrum of their own: they take the best score of the lines that
    use what they made (transitively: a constant read by another constant), as if they ran
    whenever those did; a line that only passes a name on (an import, a ``def`` line without a
    default) takes ``PASS_THROUGH`` of it."""
    users: dict[Location, list[Location]] = {}
    factor: dict[Location, float] = {}
    # What a line makes is used in its own file: only files with a scored line can lend.
    lenders = sorted({path for (path, _), score in spectrum.items() if score > 0})
    for path in lenders:
        outline = program.get(path)
        if outline is None or is_test_file(path):
            continue
        for line in sorted(outline.code_lines):
            found = outline.users(line)
            if found:
                users[(path, line)] = [(path, u) for u in found]
                factor[(path, line)] = _carries_value(outline, line)
    borrowed: dict[Location, float] = {}
    for _ in range(3):  # constants made of constants: a few rounds reach them
        for loc, used_by in users.items():
            best = max((spectrum.get(u) or borrowed.get(u, 0.0) for u in used_by), default=0.0)
            if best > 0:
                borrowed[loc] = best * factor[loc]
    return borrowed


def _carries_value(outline: Outline, line: int) -> float:
    """1 for a line that makes a value (a default, a decorator, a computed constant), else
    ``PASS_THROUGH``: an import, a ``def`` line without defaults, a ``None`` default."""
    fn = outline.function_at(line)
    if fn is not None:
        if line in fn.decorator_lines:
            return 1.0
        defaults = [name for name, at in fn.defaults.items() if at == line]
        return max((sentinel(fn, name) for name in defaults), default=PASS_THROUGH)
    stmt = outline.statement_at(line)
    return computes(stmt) if stmt is not None else PASS_THROUGH


def _merge(findings: Sequence[Findings]) -> dict[Location, dict[str, Clue]]:
    """Per line and kind: the mean weight over the failing tests (0 for a test without that
    clue), with the reason of the strongest."""
    total: dict[Location, dict[str, float]] = {}
    best: dict[Location, dict[str, Clue]] = {}
    for finding in findings:
        for clue in finding.clues:
            loc = (clue.path, clue.line)
            total.setdefault(loc, {})
            total[loc][clue.kind] = total[loc].get(clue.kind, 0.0) + clue.weight
            old = best.setdefault(loc, {}).get(clue.kind)
            if old is None or clue.weight > old.weight:
                best[loc][clue.kind] = clue
    n = len(findings)
    return {
        loc: {
            kind: Clue(c.path, c.line, total[loc][kind] / n, kind, c.reason)
            for kind, c in kinds.items()
        }
        for loc, kinds in best.items()
    }


def _combine(kinds: Mapping[str, Clue]) -> float:
    doubt = 1.0
    for clue in kinds.values():
        doubt *= 1.0 - clue.weight
    return 1.0 - doubt


def _reasons(kinds: Mapping[str, Clue]) -> tuple[str, ...]:
    strongest = sorted(kinds.values(), key=lambda c: (-c.weight, c.kind))
    return tuple(dict.fromkeys(c.reason for c in strongest))[:MAX_REASONS]


def _runs_at_import(outline: Outline, line: int) -> bool:
    """A decorator or signature line: a tracer may miss its continuation lines at import."""
    fn = outline.function_at(line)
    return fn is not None and line < fn.node.body[0].lineno


def _distance(loc: Location, findings: Sequence[Findings]) -> float:
    """Lines to the nearest failure point in the same file; earlier lines (where a value that
    reaches the failure is made) a half line nearer than later ones."""
    path, line = loc
    best = float("inf")
    for finding in findings:
        for focus_path, focus_line in finding.focus:
            if focus_path == path:
                gap = focus_line - line
                best = min(best, gap if gap >= 0 else 0.5 - gap)
    return best
