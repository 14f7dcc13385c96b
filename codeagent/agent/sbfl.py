"""Spectrum-based fault localisation: how suspicious a line is from which tests ran it.

For each line, ``Counts`` holds how many failing (``ef``) and passing (``ep``) tests ran it and
how many did not (``nf``, ``np``); a formula turns those into a score, higher meaning more
suspicious. The formulas are the classic ones from the literature (Ochiai; Tarantula, Jones and
Harrold 2005; DStar with * = 2, Wong et al. 2014; Op2, Naish et al. 2011; Barinel, Abreu et al.
2009), so they can be compared on the same runs (``benchmarks/localise_eval.py``).

Lines that run only at import time (``Coverage.at_import``) belong to no test and get no counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from codeagent.tools.testresults import Coverage, TestCase

Location = tuple[str, int]
"""``(path, line)``: a line of the work copy."""


@dataclass(frozen=True, slots=True)
class Counts:
    ef: int
    """Failing tests that ran the line."""
    ep: int
    """Passing tests that ran the line."""
    nf: int
    """Failing tests that did not."""
    np: int
    """Passing tests that did not."""


Formula = Callable[[Counts], float]


def ochiai(c: Counts) -> float:
    denominator = math.sqrt((c.ef + c.nf) * (c.ef + c.ep))
    return c.ef / denominator if denominator else 0.0


def tarantula(c: Counts) -> float:
    failed = c.ef / (c.ef + c.nf) if c.ef + c.nf else 0.0
    passed = c.ep / (c.ep + c.np) if c.ep + c.np else 0.0
    return failed / (failed + passed) if failed + passed else 0.0


def dstar(c: Counts) -> float:
    denominator = c.ep + c.nf
    # A line every failing test and no passing test ran is as suspicious as a line can be:
    # above any finite ef**2 / (ep + nf), which is at most ef**2.
    return c.ef**2 / denominator if denominator else 2.0 * c.ef**2


def op2(c: Counts) -> float:
    return c.ef - c.ep / (c.ep + c.np + 1)


def barinel(c: Counts) -> float:
    return 1.0 - c.ep / (c.ep + c.ef) if c.ef else 0.0


FORMULAS: Mapping[str, Formula] = {
    "ochiai": ochiai,
    "tarantula": tarantula,
    "dstar": dstar,
    "op2": op2,
    "barinel": barinel,
}


def spectrum(coverage: Coverage, cases: Iterable[TestCase]) -> dict[Location, Counts]:
    """The counts of every line some failing or passing test ran (other outcomes, such as
    skipped, say nothing either way and are left out)."""
    failing: list[str] = []
    passing: list[str] = []
    for case in cases:
        if case.failed:
            failing.append(case.nodeid)
        elif case.outcome == "passed":
            passing.append(case.nodeid)
    ef = _ran(coverage, failing)
    ep = _ran(coverage, passing)
    f, p = len(failing), len(passing)
    return {
        loc: Counts(ef.get(loc, 0), ep.get(loc, 0), f - ef.get(loc, 0), p - ep.get(loc, 0))
        for loc in ef.keys() | ep.keys()
    }


def scores(counts: Mapping[Location, Counts], formula: Formula) -> dict[Location, float]:
    """Each line's score divided by the best line's, so every formula lands in [0, 1] (a
    negative Op2 score counts as 0); lines no failing test ran score 0."""
    raw = {loc: max(formula(c), 0.0) if c.ef else 0.0 for loc, c in counts.items()}
    top = max(raw.values(), default=0.0)
    return {loc: value / top if top else 0.0 for loc, value in raw.items()}


def _ran(coverage: Coverage, nodeids: Iterable[str]) -> dict[Location, int]:
    ran: dict[Location, int] = {}
    for nodeid in nodeids:
        for path, lines in coverage.per_test.get(nodeid, {}).items():
            for line in lines:
                ran[(path, line)] = ran.get((path, line), 0) + 1
    return ran
