"""Judge ``codeagent fix`` on real bugs from the history of small pure-Python libraries.

    .venv/bin/python benchmarks/realbugs/run.py [--only ID ...] [--max-time 300] [--cache DIR]
    .venv/bin/python benchmarks/realbugs/run.py --check-fixes [--only ID ...]
    .venv/bin/python benchmarks/realbugs/run.py --report RESULTS_DIR

Each bug in ``bugs.toml`` beside this file is the library's released sdist that has the bug
(fetched with ``pip download``, cached under ``--cache``), plus the regression test that the
maintainers added with the fix. The runner unpacks the sdist to a temporary folder, adds the
regression test, makes the folder a git repository with one commit, and makes an interpreter
for it: ours, or (for a bug with ``deps``) a venv with those packages whose ``.pth`` adds our
site-packages, so that our pytest runs it. Tests run as ``codeagent fix`` runs them: the tree
(and its ``src/``) first on ``PYTHONPATH``.

The precondition of a bug: its regression test fails on the buggy tree and every other selected
test passes (``--check-fixes`` also applies the real fix and checks that then all pass). A bug
whose precondition does not hold is reported and not given to the fixer. Otherwise the runner
runs ``codeagent fix DIR --headless --json --test-cmd "pytest ARGS" --max-time T --output
PATCH --python PY``, applies the patch it returns to a fresh copy of the buggy tree, and runs
the tests again: a bug counts as fixed only when that independent check passes. The patch is
compared with the real fix automatically (the same removed and added lines, whitespace
collapsed, blank lines ignored); the manual judgement column comes from the manifest.

Every run keeps its evidence (events, stderr, patch, test outcomes) under
``CACHE/results/STAMP/``; ``--report`` prints the table of a kept run again, with the
judgements the manifest has now.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from unidiff import PatchSet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "bugs.toml"
PYTHON = ROOT / ".venv" / "bin" / "python"
CODEAGENT = ROOT / ".venv" / "bin" / "codeagent"
DEFAULT_CACHE = Path("~/.cache/codeagent/realbugs").expanduser()
TEST_TIMEOUT = 600.0
PROBE = """\
import json, os

def _write(nodeid, when, outcome):
    with open(os.environ["REALBUGS_REPORT"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"nodeid": nodeid, "when": when, "outcome": outcome}) + "\\n")

def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _write(report.nodeid, report.when, report.outcome)

def pytest_collectreport(report):
    if report.failed:
        _write(report.nodeid, "collect", "failed")
"""
"""A pytest plugin that writes each test's outcome as a JSON line: the runner's own record,
independent of the fixer's."""


@dataclass(frozen=True, slots=True)
class Bug:
    """One manifest entry (see README.md for the fields)."""

    id: str
    package: str
    version: str
    source: str
    fix_url: str
    fix_diff: str
    test_file: str
    test_code: str
    regression: tuple[str, ...]
    test_args: str
    adapted: str = ""
    note: str = ""
    replaces: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    judgement: str = ""
    judged: str = ""


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The runner's record of one test run: each node id's outcome (``passed``, ``failed``,
    ``skipped``); a collection error is a failed node named for its module."""

    nodes: dict[str, str]
    exit_code: int
    tail: str

    def regression(self, bug: Bug) -> dict[str, str]:
        return {n: o for n, o in self.nodes.items() if _is_regression(n, bug.regression)}

    def others_failed(self, bug: Bug) -> list[str]:
        """Failed nodes outside the regression test; a module that fails to collect counts
        here even when it holds the regression test."""
        return [
            n
            for n, o in self.nodes.items()
            if o == "failed" and ("::" not in n or not _is_regression(n, bug.regression))
        ]

    def buggy_ok(self, bug: Bug) -> bool:
        """The precondition on the buggy tree: the regression test fails, nothing else does."""
        return "failed" in self.regression(bug).values() and not self.others_failed(bug)

    def fixed_ok(self, bug: Bug) -> bool:
        """After a fix: the regression test ran and passed, and nothing failed."""
        found = self.regression(bug)
        return bool(found) and "failed" not in found.values() and not self.others_failed(bug)


@dataclass(frozen=True, slots=True)
class FixRun:
    """What ``codeagent fix`` did on one bug, and what the runner found on checking it."""

    bug: str
    status: str  # "ran" or "dropped: why"
    exit_code: int = 0
    outcome: str = ""
    turns: int = 0
    candidates: int = 0
    wall: float = 0.0
    patch: str = ""
    verified: bool = False
    same_as_real: bool = False
    error: str = ""


# -- the manifest ------------------------------------------------------------------------


def load_manifest(path: Path = MANIFEST) -> list[Bug]:
    with path.open("rb") as handle:
        entries = tomllib.load(handle)["bug"]
    bugs = []
    for entry in entries:
        for name in ("regression", "replaces", "deps"):
            entry[name] = tuple(entry.get(name, ()))
        bugs.append(Bug(**entry))
    return bugs


def _is_regression(nodeid: str, regression: Sequence[str]) -> bool:
    return any(
        nodeid == r or nodeid.startswith((r + "[", r + "::")) or r.startswith(nodeid + "::")
        for r in regression
    )


# -- sdists and trees --------------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch_sdist(bug: Bug, cache: Path) -> Path:
    """The sdist of ``bug.package==bug.version``, downloaded with pip on first use."""
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    found = _find_sdist(folder, bug)
    if found is None:
        pip = [str(PYTHON), "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run(
            [*pip, f"{bug.package}=={bug.version}", "-d", str(folder)],
            check=False,
            capture_output=True,
        )
        found = _find_sdist(folder, bug)
    if found is None:
        raise RuntimeError(f"pip could not download the sdist {bug.package}=={bug.version}")
    return found


def _find_sdist(folder: Path, bug: Bug) -> Path | None:
    stem = _normalise(f"{bug.package}-{bug.version}")
    for path in sorted(folder.iterdir()):
        name = _normalise(path.name)
        if name in (f"{stem}-tar-gz", f"{stem}-zip"):
            return path
    return None


def unpack(sdist: Path, into: Path) -> Path:
    """Unpack ``sdist`` and return its one top-level folder, moved to ``into``."""
    scratch = Path(tempfile.mkdtemp(prefix="unpack-", dir=into.parent))
    if sdist.suffix == ".zip":
        with zipfile.ZipFile(sdist) as archive:
            archive.extractall(scratch)
    else:
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch, filter="data")
    (top,) = scratch.iterdir()
    top.rename(into)
    scratch.rmdir()
    return into


def add_regression_test(root: Path, bug: Bug) -> None:
    """Remove the top-level definitions ``bug.replaces`` from the test file (the fix changed
    them), then append the regression test code at its end."""
    path = root / bug.test_file
    source = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = source.splitlines(keepends=True)
    for start, end in sorted(_spans(source, bug.replaces), reverse=True):
        del lines[start:end]
    text = "".join(lines).rstrip("\n")
    path.write_text(f"{text}\n\n\n{bug.test_code.strip()}\n", encoding="utf-8")


def _spans(source: str, names: Iterable[str]) -> list[tuple[int, int]]:
    wanted = set(names)
    spans = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in wanted:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            spans.append((first - 1, node.end_lineno or node.lineno))
            wanted.discard(node.name)
    if wanted:
        raise RuntimeError(f"no top-level definition of {sorted(wanted)} to replace")
    return spans


def git_commit_all(root: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "realbugs",
        "GIT_AUTHOR_EMAIL": "realbugs@localhost",
        "GIT_COMMITTER_NAME": "realbugs",
        "GIT_COMMITTER_EMAIL": "realbugs@localhost",
    }
    for args in (["init", "-q"], ["add", "-A", "-f"], ["commit", "-q", "-m", "buggy release"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def prepare(bug: Bug, cache: Path, workdir: Path) -> Path:
    """The buggy tree with its regression test, committed, at ``workdir / bug.id``."""
    root = unpack(fetch_sdist(bug, cache), workdir / bug.id)
    add_regression_test(root, bug)
    git_commit_all(root)
    return root


def interpreter(bug: Bug, cache: Path) -> Path:
    """Ours, or a venv (made once, cached) with ``bug.deps`` that also sees our packages."""
    if not bug.deps:
        return PYTHON
    key = hashlib.sha256("\n".join(sorted(bug.deps)).encode()).hexdigest()[:12]
    venv = cache / "venvs" / key
    python = venv / "bin" / "python"
    if (venv / ".ready").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([str(PYTHON), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", *bug.deps],
        check=True,
    )
    # After the venv's own packages: the deps win, pytest and its plugins come from ours.
    pth = Path(_purelib(python)) / "zz_codeagent_realbugs.pth"
    pth.write_text(_purelib(PYTHON) + "\n", encoding="utf-8")
    (venv / ".ready").write_text(" ".join(bug.deps) + "\n", encoding="utf-8")
    return python


def _purelib(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    result = subprocess.run([str(python), "-c", code], check=True, capture_output=True)
    return result.stdout.decode().strip()


# -- running the tests -------------------------------------------------------------------


def run_tests(root: Path, python: Path, bug: Bug) -> Outcomes:
    """Run the bug's selected tests in ``root`` and read each outcome from the probe."""
    with tempfile.TemporaryDirectory(prefix="realbugs-probe-") as scratch:
        (Path(scratch) / "realbugs_probe.py").write_text(PROBE, encoding="utf-8")
        report = Path(scratch) / "report.jsonl"
        paths = [str(root), *([str(root / "src")] if (root / "src").is_dir() else []), scratch]
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            PYTHONPATH=os.pathsep.join(paths),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONHASHSEED="0",
            REALBUGS_REPORT=str(report),
        )
        command = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-p"]
        command += ["realbugs_probe", *shlex.split(bug.test_args)]
        try:
            result = subprocess.run(
                command, cwd=root, env=env, capture_output=True, timeout=TEST_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return Outcomes({}, -1, f"timed out after {TEST_TIMEOUT:.0f} s")
        records = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    nodes: dict[str, str] = {}
    for line in records:
        record = json.loads(line)
        if nodes.get(record["nodeid"]) != "failed":
            nodes[record["nodeid"]] = record["outcome"]
    tail = (result.stdout + result.stderr).decode(errors="replace")[-3000:]
    return Outcomes(nodes, result.returncode, tail)


def copy_tree(root: Path, name: str) -> Path:
    target = root.parent / f"{root.name}.{name}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(root, target, symlinks=True)
    return target


def apply_patch(root: Path, patch: str) -> str:
    """Apply ``patch`` with ``git apply``, then, if that fails, ignoring whitespace in its
    context (an upstream diff on a release whose files have CRLF line ends); the error text,
    empty on success."""
    error = ""
    for extra in ([], ["--ignore-whitespace"]):
        result = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", *extra, "-"],
            cwd=root,
            input=patch.encode(),
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return ""
        error = error or result.stderr.decode(errors="replace").strip()
    return error


def precondition(bug: Bug, root: Path, python: Path) -> str:
    """Why the buggy tree is not a fair task (empty: it is)."""
    outcomes = run_tests(copy_tree(root, "pre"), python, bug)
    if outcomes.buggy_ok(bug):
        return ""
    if not outcomes.regression(bug):
        return f"regression test not collected (pytest exit {outcomes.exit_code})"
    if "failed" not in outcomes.regression(bug).values():
        return "regression test passes on the buggy release"
    return f"other tests fail on the buggy release: {', '.join(outcomes.others_failed(bug))}"


# -- comparing patches -------------------------------------------------------------------


def changed_lines(patch: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per file: its removed and its added lines, whitespace collapsed, blank ones left out,
    sorted (so the order of hunks does not matter)."""
    files: dict[str, tuple[list[str], list[str]]] = {}
    current = ""
    for line in patch.splitlines():
        if line.startswith("+++ "):
            current = re.sub(r"^b/", "", line[4:].split("\t")[0].strip())
            files.setdefault(current, ([], []))
        elif line.startswith(("--- ", "diff ", "index ")):
            continue
        elif current and line[:1] in "+-":
            text = " ".join(line[1:].split())
            if text:
                files[current][0 if line[0] == "-" else 1].append(text)
    return {f: (tuple(sorted(r)), tuple(sorted(a))) for f, (r, a) in files.items() if r or a}


def same_change(patch: str, real: str) -> bool:
    return bool(patch.strip()) and changed_lines(patch) == changed_lines(real)


def fingerprint(patch: str) -> str:
    """What a judgement in the manifest is tied to: a hash of the patch's changed lines (as
    ``same_change`` compares them), so a later run's different patch never inherits it."""
    if not patch.strip():
        return ""
    lines = repr(sorted(changed_lines(patch).items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


# -- the fixer ---------------------------------------------------------------------------


def run_fixer(bug: Bug, root: Path, python: Path, max_time: float, evidence: Path) -> FixRun:
    patch_file = evidence / f"{bug.id}.patch"
    command = [str(CODEAGENT), "fix", str(root), "--headless", "--json"]
    command += ["--test-cmd", f"pytest {bug.test_args}", "--max-time", f"{max_time:g}"]
    command += ["--output", str(patch_file), "--python", str(python)]
    started = time.monotonic()
    with (
        (evidence / f"{bug.id}.events.jsonl").open("wb") as out,
        (evidence / f"{bug.id}.stderr.txt").open("wb") as err,
    ):
        try:
            process = subprocess.run(
                command, stdout=out, stderr=err, timeout=max_time + 300, check=False
            )
            exit_code = process.returncode
        except subprocess.TimeoutExpired:
            exit_code = -9
    wall = time.monotonic() - started
    events = _events(evidence / f"{bug.id}.events.jsonl")
    finished = next((e for e in reversed(events) if e.get("event") == "finished"), {})
    stderr = (evidence / f"{bug.id}.stderr.txt").read_text(encoding="utf-8", errors="replace")
    patch = str(finished.get("patch") or "")
    # Without a finished event (a crash), count what the events show.
    turns = sum(e.get("event") == "turn_started" for e in events)
    tested = sum(e.get("event") == "candidate_tested" for e in events)
    return FixRun(
        bug=bug.id,
        status="ran",
        exit_code=exit_code,
        outcome=str(finished.get("outcome", "no finished event")),
        turns=_count(finished.get("turns", turns)),
        candidates=_count(finished.get("candidates", tested)),
        wall=wall,
        patch=patch,
        error="" if finished else _last_line(stderr) or f"exit {exit_code}",
    )


def _events(path: Path) -> list[dict[str, object]]:
    """The JSON events the fixer printed (lines that are not JSON objects left out)."""
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def verify(bug: Bug, root: Path, python: Path, patch: str) -> tuple[bool, str]:
    """Whether ``patch`` on a fresh copy of the buggy tree makes the tests pass."""
    if not patch.strip():
        return False, "no patch"
    copy = copy_tree(root, "verify")
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=copy, check=True)
    error = apply_patch(copy, patch)
    if error:
        return False, f"patch does not apply: {error}"
    outcomes = run_tests(copy, python, bug)
    return outcomes.fixed_ok(bug), outcomes.tail[-500:]


# -- modes -------------------------------------------------------------------------------


def benchmark(bugs: Sequence[Bug], cache: Path, max_time: float, keep: bool) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    evidence = cache / "results" / stamp
    evidence.mkdir(parents=True)
    runs = []
    scratch = Path(tempfile.mkdtemp(prefix="realbugs-"))
    try:
        for bug in bugs:
            run = _one_bug(bug, cache, scratch, max_time, evidence)
            runs.append(run)
            print(f"{bug.id}: {_fixed_cell(run)}", file=sys.stderr, flush=True)
            (evidence / "runs.json").write_text(
                json.dumps([asdict(r) for r in runs], indent=1), encoding="utf-8"
            )
    finally:
        if keep:
            print(f"work folders kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(table(bugs, runs))
    print()
    print(localisation([b for b in bugs if any(r.bug == b.id for r in runs)], evidence, cache))
    print(f"\nevidence: {evidence}", file=sys.stderr)
    return evidence


def _one_bug(bug: Bug, cache: Path, scratch: Path, max_time: float, evidence: Path) -> FixRun:
    try:
        root = prepare(bug, cache, scratch)
        python = interpreter(bug, cache)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        return FixRun(bug=bug.id, status=f"dropped: {exc}")
    why = precondition(bug, root, python)
    if why:
        return FixRun(bug=bug.id, status=f"dropped: {why}")
    run = run_fixer(bug, root, python, max_time, evidence)
    verified, detail = verify(bug, root, python, run.patch)
    (evidence / f"{bug.id}.verify.txt").write_text(detail, encoding="utf-8")
    return FixRun(
        **{
            **asdict(run),
            "verified": verified,
            "same_as_real": verified and same_change(run.patch, bug.fix_diff),
        }
    )


def _fixed_cell(run: FixRun) -> str:
    if run.status != "ran":
        return run.status
    if run.verified:
        return "yes"
    claimed = " (claimed fixed, check failed)" if run.outcome == "fixed" else ""
    error = f"; {run.error}" if run.error else ""
    return f"no ({run.outcome}, exit {run.exit_code}{error}){claimed}"


def judgement_of(bug: Bug | None, run: FixRun) -> str:
    """The manifest's judgement, where it was made of this run's patch."""
    if bug is None or not bug.judgement or not run.verified:
        return ""
    if bug.judged != fingerprint(run.patch):
        return f"not judged (the judgement is of another patch, {bug.judged})"
    return bug.judgement


def table(bugs: Sequence[Bug], runs: Sequence[FixRun]) -> str:
    by_id = {b.id: b for b in bugs}
    rows = [
        "| bug | fixed? | patch = real fix (auto) | manual judgement | turns | wall time "
        "| candidates |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    judged: list[str] = []
    for run in runs:
        if run.status != "ran":
            rows.append(f"| {run.bug} | {run.status} | | | | | |")
            continue
        same = "yes" if run.same_as_real else ("no" if run.verified else "-")
        judgement = judgement_of(by_id.get(run.bug), run)
        if judgement and not judgement.startswith("not judged"):
            judged.append(judgement)
        rows.append(
            f"| {run.bug} | {_fixed_cell(run)} | {same} | {judgement} "
            f"| {run.turns} | {run.wall:.1f} s | {run.candidates} |"
        )
    ran = [r for r in runs if r.status == "ran"]
    fixed = sum(r.verified for r in ran)
    alike = sum(r.same_as_real for r in ran)
    rows.append("")
    summary = f"{fixed} of {len(ran)} fixed ({alike} the same lines as the real fix"
    if judged:
        right = sum(j.startswith(("same", "equivalent")) for j in judged)
        summary += f"; {right} of {len(judged)} judged correct by reading"
    rows.append(summary + ")")
    return "\n".join(rows)


def check_fixes(bugs: Sequence[Bug], cache: Path) -> int:
    """For each bug: the precondition on the buggy tree, then the real fix applied."""
    rows = [
        "| bug | regression fails on buggy | others pass on buggy | real fix applies "
        "| all pass with the real fix |",
        "|---|---|---|---|---|",
    ]
    bad = 0
    with tempfile.TemporaryDirectory(prefix="realbugs-check-") as scratch:
        for bug in bugs:
            cells = _check_one(bug, cache, Path(scratch))
            bad += any(cell.startswith("no") for cell in cells)
            rows.append(f"| {bug.id} | " + " | ".join(cells) + " |")
            print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))
    return 1 if bad else 0


def _check_one(bug: Bug, cache: Path, scratch: Path) -> list[str]:
    try:
        root = prepare(bug, cache, scratch)
        python = interpreter(bug, cache)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        return [f"no ({exc})", "", "", ""]
    buggy = run_tests(copy_tree(root, "buggy"), python, bug)
    fails = "failed" in buggy.regression(bug).values()
    others = buggy.others_failed(bug)
    fixed_tree = copy_tree(root, "fixed")
    error = apply_patch(fixed_tree, bug.fix_diff)
    fixed = run_tests(fixed_tree, python, bug) if not error else None
    return [
        "yes" if fails else f"no ({len(buggy.regression(bug))} regression nodes)",
        "yes" if not others else f"no: {', '.join(others)[:300]}",
        "yes" if not error else f"no: {error[:200]}",
        "-" if fixed is None else ("yes" if fixed.fixed_ok(bug) else f"no: {fixed.tail[-300:]}"),
    ]


def report(bugs: Sequence[Bug], evidence: Path, cache: Path) -> None:
    runs = [FixRun(**r) for r in json.loads((evidence / "runs.json").read_text("utf-8"))]
    print(table(bugs, runs))
    print()
    print(
        localisation(
            [b for b in bugs if (evidence / f"{b.id}.events.jsonl").exists()], evidence, cache
        )
    )


# -- localisation ------------------------------------------------------------------------


def fix_lines(bug: Bug, cache: Path) -> set[tuple[str, int]]:
    """The release's lines that the real fix changes: each removed line, found by its text
    nearest its upstream line number (the fix's diff is of a later commit, so numbers shift);
    for a hunk that only adds, the lines either side of the addition."""
    with tempfile.TemporaryDirectory(prefix="realbugs-lines-") as scratch:
        root = unpack(fetch_sdist(bug, cache), Path(scratch) / "tree")
        found: set[tuple[str, int]] = set()
        for changed in PatchSet(bug.fix_diff):
            lines = (root / changed.path).read_text("utf-8").splitlines()
            for hunk in changed:
                rows = list(hunk)
                anchors = [row for row in rows if row.is_removed]
                added_only = not anchors
                if added_only:
                    anchors = [
                        prev for prev, row in itertools.pairwise(rows)
                        if row.is_added and prev.is_context
                    ]  # fmt: skip
                for row in anchors:
                    number = _nearest(lines, row.value, row.source_line_no or 0)
                    if number is not None:
                        found.add((changed.path, number))
                        if added_only:
                            found.add((changed.path, number + 1))
        return found


def _nearest(lines: Sequence[str], text: str, near: int) -> int | None:
    hits = [i for i, line in enumerate(lines, 1) if line.strip() == text.strip()]
    return min(hits, key=lambda n: abs(n - near)) if hits else None


def localisation(bugs: Sequence[Bug], evidence: Path, cache: Path) -> str:
    """Where the real fix's lines rank among the suspects the fixer's ``localised`` event
    listed (what the fixer works through, best first)."""
    rows = ["| bug | real fix's best line among the suspects |", "|---|---|"]
    ranks: list[int | None] = []
    for bug in bugs:
        suspects: list[tuple[str, int]] = []
        for event in _events(evidence / f"{bug.id}.events.jsonl"):
            if event.get("event") == "localised" and isinstance(event.get("suspects"), list):
                suspects = [(str(s["path"]), int(s["line"])) for s in event["suspects"]]
                break
        targets = fix_lines(bug, cache)
        hits = [i for i, suspect in enumerate(suspects, 1) if suspect in targets]
        rank = min(hits) if hits else None
        ranks.append(rank)
        cell = f"{rank} of {len(suspects)}" if rank else f"not among the {len(suspects)}"
        rows.append(f"| {bug.id} | {cell} |")
    counted = [r for r in ranks if r is not None]
    rows.append("")
    rows.append(
        f"first: {sum(r == 1 for r in counted)}, top 5: {sum(r <= 5 for r in counted)}, "
        f"listed: {len(counted)} of {len(ranks)}"
    )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="a bug id (repeatable)")
    parser.add_argument("--max-time", type=float, default=300.0, help="seconds per fix")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--check-fixes", action="store_true", help="check the manifest only")
    parser.add_argument("--report", type=Path, help="print the table of a kept run")
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    args = parser.parse_args(argv)
    bugs = load_manifest(args.manifest)
    unknown = set(args.only) - {b.id for b in bugs}
    if unknown:
        parser.error(f"unknown bug ids: {', '.join(sorted(unknown))}")
    if args.only:
        bugs = [b for b in bugs if b.id in args.only]
    cache = args.cache.expanduser().resolve()
    if args.report:
        report(bugs, args.report, cache)
        return 0
    if args.check_fixes:
        return check_fixes(bugs, cache)
    benchmark(bugs, cache, args.max_time, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
