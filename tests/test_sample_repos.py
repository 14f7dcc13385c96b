"""The sample repositories under sample_repos/ are what sample_repos/README.md says they are.

Each sample is run the way the agent runs it (a real pytest process in the sample's folder): it
must fail exactly the tests its README row lists, pass several others, leave no file behind, and
import nothing but the standard library, its own package and pytest.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_repos"
README = SAMPLES / "README.md"

# Words a developer would leave next to a known fault; a sample must not point at its own bug.
HINTS = re.compile(r"\b(bug|bugs|buggy|fixme|todo|xxx|hack|off[- ]by[- ]one|typo)\b", re.I)

FAILED_LINE = re.compile(r"^FAILED (?P<node>\S+?)(?: - .*)?$", re.M)
ERROR_LINE = re.compile(r"^ERROR ", re.M)
COUNT = re.compile(r"(?P<n>\d+) (?P<what>failed|passed|errors?)\b")
DURATION = re.compile(r" in (?P<seconds>\d+(?:\.\d+)?)s\b")


@dataclass(frozen=True)
class Row:
    """One row of the README table."""

    repo: str
    failing: frozenset[str]
    lines: int
    modules: int


@dataclass(frozen=True)
class Run:
    """One pytest run of a sample: exit status, output and the files before and after."""

    returncode: int
    output: str
    files_before: tuple[str, ...]
    files_after: tuple[str, ...]


def readme_rows(text: str) -> dict[str, Row]:
    """The rows of the table whose header starts with ``| repo |``, by repo name.

    Columns are found by their header (``repo``, ``failing tests``, ``lines``, ``modules``);
    the failing tests are the backquoted node ids in their cell.
    """
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| repo |"))
    header = [cell.strip() for cell in lines[start].strip().strip("|").split("|")]
    column = {name: header.index(name) for name in ("repo", "failing tests", "lines", "modules")}
    rows: dict[str, Row] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        repo = cells[column["repo"]].strip("`").rstrip("/")
        failing = frozenset(re.findall(r"`([^`]+::[^`]+)`", cells[column["failing tests"]]))
        rows[repo] = Row(repo, failing, int(cells[column["lines"]]), int(cells[column["modules"]]))
    return rows


def failed_node_ids(output: str) -> frozenset[str]:
    """The node ids of the ``FAILED`` lines of pytest's ``-rf`` short summary."""
    return frozenset(match["node"] for match in FAILED_LINE.finditer(output))


def outcome_counts(output: str) -> dict[str, int]:
    """``failed``/``passed``/``errors`` counts from pytest's last summary line."""
    last = output.strip().splitlines()[-1]
    return {match["what"]: int(match["n"]) for match in COUNT.finditer(last)}


def imported_roots(source: str) -> set[str]:
    """The top-level names of the absolute imports in ``source`` (relative imports excluded)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.iterdir() if (path / "pyproject.toml").is_file())


def package_dirs(root: Path) -> list[Path]:
    """The importable packages at the sample's top level (folders with an ``__init__.py``)."""
    return sorted(path.parent for path in root.glob("*/__init__.py") if path.parent.name != "tests")


def tree(root: Path) -> tuple[str, ...]:
    return tuple(sorted(str(path.relative_to(root)) for path in root.rglob("*")))


@functools.cache
def run_sample(name: str) -> Run:
    """The sample's suite run once per session, in its folder, with no caches written."""
    root = SAMPLES / name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    # No bytecode, no plugins from the outer environment: the samples need none, and the
    # run must leave the folder exactly as it found it.
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", COLUMNS="200")
    before = tree(root)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(completed.returncode, completed.stdout + completed.stderr, before, tree(root))


SAMPLE_NAMES = sample_names()


def test_readme_lists_every_sample() -> None:
    rows = readme_rows(README.read_text(encoding="utf-8"))
    assert sorted(rows) == SAMPLE_NAMES
    assert len(SAMPLE_NAMES) >= 8
    assert all(row.failing for row in rows.values())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_fails_exactly_the_listed_tests(name: str) -> None:
    row = readme_rows(README.read_text(encoding="utf-8"))[name]
    run = run_sample(name)
    assert run.returncode == 1, run.output
    assert not ERROR_LINE.search(run.output), run.output
    assert failed_node_ids(run.output) == row.failing, run.output
    counts = outcome_counts(run.output)
    assert counts.get("failed") == len(row.failing)
    assert counts.get("passed", 0) >= 3, "a sample needs passing tests beside the failing ones"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_is_quick_and_leaves_nothing_behind(name: str) -> None:
    run = run_sample(name)
    duration = DURATION.search(run.output.strip().splitlines()[-1])
    assert duration is not None, run.output
    assert float(duration["seconds"]) < 5.0
    assert run.files_after == run.files_before


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_is_stdlib_only(name: str) -> None:
    root = SAMPLES / name
    packages = {path.name for path in package_dirs(root)}
    assert packages, f"{name} has no package"
    allowed = set(sys.stdlib_module_names) | packages | {"pytest"}
    for path in sorted(root.rglob("*.py")):
        outside = imported_roots(path.read_text(encoding="utf-8")) - allowed
        assert not outside, f"{path.relative_to(SAMPLES)} imports {sorted(outside)}"
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert not project["project"].get("dependencies")
    assert project["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_readme_counts_match_the_sample(name: str) -> None:
    row = readme_rows(README.read_text(encoding="utf-8"))[name]
    modules = [path for package in package_dirs(SAMPLES / name) for path in package.glob("*.py")]
    lines = sum(
        1
        for path in modules
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    assert (row.lines, row.modules) == (lines, len(modules))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_does_not_point_at_its_bug(name: str) -> None:
    for path in sorted((SAMPLES / name).rglob("*.py")):
        hint = HINTS.search(path.read_text(encoding="utf-8"))
        assert hint is None, f"{path.relative_to(SAMPLES)}: {hint and hint.group(0)!r}"


def test_checks_recognise_what_they_reject() -> None:
    """The parsers above find what they must, so the checks that use them can fail."""
    output = (
        "..F.\n"
        "FAILED tests/test_a.py::test_x - assert 1 == 2\n"
        "FAILED tests/test_b.py::test_y[1-2]\n"
        "2 failed, 2 passed in 0.03s\n"
    )
    assert failed_node_ids(output) == {"tests/test_a.py::test_x", "tests/test_b.py::test_y[1-2]"}
    assert outcome_counts(output) == {"failed": 2, "passed": 2}
    source = "import os.path\nimport requests as r\nfrom numpy import array\nfrom . import local\n"
    assert imported_roots(source) - set(sys.stdlib_module_names) == {"requests", "numpy"}
    table = (
        "| repo | kind | failing tests | lines | modules |\n|---|---|---|---|---|\n"
        "| `x/` | k | `tests/t.py::a`<br>`tests/t.py::b` | 10 | 2 |\n"
    )
    assert readme_rows(table) == {
        "x": Row("x", frozenset({"tests/t.py::a", "tests/t.py::b"}), 10, 2)
    }
    assert HINTS.search("# the off-by-one is here") is not None
    assert HINTS.search("def debug_view(): ...") is None
