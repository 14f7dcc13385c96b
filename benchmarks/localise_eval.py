"""Fault localisation on realistic one-bug projects: plain spectrum formulas against the
combined ranking of ``codeagent.agent.localise``.

    .venv/bin/python benchmarks/localise_eval.py [--only NAME ...] [--no-samples] [--per-case]

Each project is copied to a temporary directory, its suite is run once with per-test coverage
(``PytestRunner(...).run(coverage=True)``), and every ranking is read off that one report.
Projects: the cases in ``benchmarks/localise_cases/`` (one folder each, its ``bug.json`` names
the buggy line or, for missing code, the lines a fix may go before), and the sample repositories
in ``sample_repos/`` that ``SAMPLE_BUGS`` knows (written by another engineer; their buggy lines
read from ``sample_repos/README.md``), marked ``*`` in the per-case table.

The rank of a case is that of its best buggy line among the code lines (statements; blank
lines, comments, docstrings and test files never count). A plain formula ties many lines, so
its rank is the expected one over the orders of its ties (and top-k a fraction); the combined
ranking breaks its own ties and is taken as it comes. A line a ranking leaves out shares the
last place with every other line it leaves out. EXAM is the rank over the number of code lines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeagent.agent import sbfl
from codeagent.agent.localise import localise
from codeagent.agent.outline import outline
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.testresults import TestReport, is_test_file

HERE = Path(__file__).resolve().parent
CASES = HERE / "localise_cases"
SAMPLES = HERE.parent / "sample_repos"
TOP = (1, 3, 5, 10)

SAMPLE_BUGS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    # repo: (file, function, buggy lines as text), from sample_repos/README.md.
    "calc": ("calc/ops.py", "mean", ("return sum(values) / (len(values) - 1)",)),
    "daterange": ("daterange/span.py", "__contains__", ("return self.start <= day < self.end",)),
    "appconfig": (
        "appconfig/settings.py",
        "from_mapping",
        ('timeout_s=_seconds("timeout_s", data.get("timeout", DEFAULTS["timeout_s"])),',),
    ),
    # Missing guard: any statement of percentile up to the one that raises may take it.
    "latency": (
        "latency/stats.py",
        "percentile",
        (
            "if not 0 < p <= 100:",
            "ordered = sorted(values)",
            "rank = math.ceil(p / 100 * len(ordered))",
            "return ordered[max(rank, 1) - 1]",
        ),
    ),
    "expenses": (
        "expenses/formatting.py",
        "format_money",
        ('return f"{sign}{symbol}{units:,}.{rest}"',),
    ),
    # Two places: the reset at a new release heading, the flush before the return.
    "changelog": (
        "changelog/parser.py",
        "parse",
        (
            "releases.append(Release(version, date, tuple(changes)))",
            'version = heading["version"]',
            'date = _release_date(number, version, heading["date"])',
            "kind = None",
            "return releases",
        ),
    ),
    "shop": (
        "shop/discounts.py",
        "volume_percent",
        ("return min(reached, key=lambda tier: tier.min_quantity).percent",),
    ),
    "thumbs": (
        "thumbs/geometry.py",
        "fit_within",
        ("scale = min(bounds.width / size.width, bounds.height / size.width)",),
    ),
}


@dataclass(frozen=True)
class Case:
    name: str
    root: Path
    kind: str
    path: str
    function: str | None
    texts: tuple[str, ...]
    mine: bool


@dataclass(frozen=True)
class Outcome:
    case: Case
    ranks: dict[str, float]
    """Method name -> rank."""
    tops: dict[str, dict[int, float]]
    """Method name -> k -> hit (a fraction for a plain formula's ties)."""
    lines: int


def load_cases(names: Sequence[str], samples: bool) -> list[Case]:
    cases = []
    for folder in sorted(p for p in CASES.iterdir() if (p / "bug.json").is_file()):
        bug = json.loads((folder / "bug.json").read_text())
        texts = tuple(bug.get("lines") or [bug["line"]])
        cases.append(Case(folder.name, folder, bug["kind"], bug["path"], None, texts, mine=True))
    if samples and SAMPLES.is_dir():
        for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
            if folder.name not in SAMPLE_BUGS:
                print(f"skipped sample_repos/{folder.name}: no known buggy line", file=sys.stderr)
                continue
            path, function, texts = SAMPLE_BUGS[folder.name]
            cases.append(Case(folder.name, folder, "sample", path, function, texts, mine=False))
    return [c for c in cases if not names or c.name in names]


def buggy_lines(case: Case, text: str) -> set[int]:
    o = outline(case.path, text)
    fn = next((f for f in o.functions if f.name == case.function), None) if case.function else None
    found = {
        number
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() in case.texts and (fn is None or fn.start <= number <= fn.end)
    }
    if not found:
        raise SystemExit(f"{case.name}: none of the buggy lines is in {case.path}")
    return found


def run(case: Case, into: Path) -> tuple[TestReport, dict[str, str]]:
    root = into / case.name
    shutil.copytree(case.root, root, ignore=shutil.ignore_patterns("__pycache__", "bug.json"))
    with PytestRunner(root, python=sys.executable) as runner:
        report = runner.run(coverage=True)
    sources = {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*.py")
    }
    return report, sources


def code_lines(sources: Mapping[str, str]) -> set[tuple[str, int]]:
    return {
        (path, line)
        for path, text in sources.items()
        if not is_test_file(path)
        for line in outline(path, text).code_lines
    }


def plain(
    report: TestReport, formula: str, targets: set[tuple[str, int]], universe: set[tuple[str, int]]
) -> tuple[float, dict[int, float]]:
    """Expected rank of the best target over the orders of the formula's ties."""
    assert report.coverage is not None
    counts = sbfl.spectrum(report.coverage, report.cases)
    scores = sbfl.scores(counts, sbfl.FORMULAS[formula])
    value = {loc: scores.get(loc, 0.0) for loc in universe}
    best = max(value[t] for t in targets)
    above = sum(1 for v in value.values() if v > best)
    tied = sum(1 for v in value.values() if v == best)
    hits = sum(1 for t in targets if value[t] == best)
    # The first of `hits` targets among `tied` shuffled lines: expected position.
    rank = above + (tied + 1) / (hits + 1)
    tops = {k: _chance_within(k - above, tied, hits) for k in TOP}
    return rank, tops


def _chance_within(slots: int, tied: int, hits: int) -> float:
    """The chance that one of ``hits`` targets shuffled among ``tied`` lines lands in the first
    ``slots``."""
    if slots <= 0:
        return 0.0
    if slots >= tied:
        return 1.0
    miss = 1.0
    for i in range(slots):
        miss *= (tied - hits - i) / (tied - i)
    return 1.0 - max(miss, 0.0)


def combined(
    report: TestReport,
    sources: Mapping[str, str],
    formula: str,
    targets: set[tuple[str, int]],
    universe: set[tuple[str, int]],
) -> tuple[float, dict[int, float]]:
    ranked = [
        (s.path, s.line) for s in localise(report, sources, limit=len(universe), formula=formula)
    ]
    listed = [loc for loc in ranked if loc in universe]
    found = [i for i, loc in enumerate(listed, 1) if loc in targets]
    if found:
        rank = float(found[0])
    else:
        rest = len(universe) - len(listed)
        rank = len(listed) + (rest + 1) / (len(targets) + 1)
    return rank, {k: 1.0 if rank <= k else 0.0 for k in TOP}


def evaluate(case: Case, into: Path, formulas: Sequence[str]) -> Outcome:
    report, sources = run(case, into)
    if report.coverage is None or not report.failures:
        raise SystemExit(f"{case.name}: no failing test with coverage (exit {report.exit_code})")
    targets = {(case.path, n) for n in buggy_lines(case, sources[case.path])}
    universe = code_lines(sources)
    ranks: dict[str, float] = {}
    tops: dict[str, dict[int, float]] = {}
    for formula in formulas:
        ranks[f"{formula}"], tops[f"{formula}"] = plain(report, formula, targets, universe)
        name = f"combined {formula}"
        ranks[name], tops[name] = combined(report, sources, formula, targets, universe)
    return Outcome(case, ranks, tops, len(universe))


def print_per_case(outcomes: Sequence[Outcome], methods: Sequence[str]) -> None:
    print(f"| case | kind | lines | {' | '.join(methods)} |")
    print(f"|---|---|---:|{'---:|' * len(methods)}")
    for o in outcomes:
        name = o.case.name + ("" if o.case.mine else " *")
        ranks = " | ".join(f"{o.ranks[m]:.1f}" for m in methods)
        print(f"| {name} | {o.case.kind} | {o.lines} | {ranks} |")
    print(
        "\n`*`: sample_repos/, written separately as demos. Ranks are 1-based (lower is better).\n"
    )


def print_summary(outcomes: Sequence[Outcome], methods: Sequence[str], title: str) -> None:
    n = len(outcomes)
    print(f"{title} ({n} projects)\n")
    print("| ranking | top-1 | top-3 | top-5 | top-10 | mean rank | median rank | mean EXAM |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in methods:
        hits = [sum(o.tops[m][k] for o in outcomes) for k in TOP]
        ranks = [o.ranks[m] for o in outcomes]
        exam = statistics.mean(o.ranks[m] / o.lines for o in outcomes)
        cells = " | ".join(f"{h:.1f}/{n}" for h in hits)
        print(
            f"| {m} | {cells} | {statistics.mean(ranks):.2f} | {statistics.median(ranks):.1f}"
            f" | {exam:.3f} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--only", nargs="*", default=[], help="case names")
    parser.add_argument("--no-samples", action="store_true", help="leave sample_repos/ out")
    parser.add_argument("--per-case", action="store_true", help="print every case's ranks")
    parser.add_argument("--formulas", nargs="*", default=list(sbfl.FORMULAS))
    args = parser.parse_args()
    cases = load_cases(args.only, samples=not args.no_samples)
    with tempfile.TemporaryDirectory(prefix="localise-eval-") as tmp:
        outcomes = [evaluate(c, Path(tmp), args.formulas) for c in cases]
    methods = [*args.formulas, *(f"combined {f}" for f in args.formulas)]
    if args.per_case:
        print_per_case(outcomes, methods)
    print_summary(outcomes, methods, "All projects")
    mine = [o for o in outcomes if o.case.mine]
    others = [o for o in outcomes if not o.case.mine]
    if mine and others:
        print_summary(mine, methods, "benchmarks/localise_cases/ (written for this benchmark)")
        print_summary(others, methods, "sample_repos/ (written separately, as demos)")


if __name__ == "__main__":
    main()
