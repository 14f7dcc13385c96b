"""The probe plugin in a real pytest process: outcomes, failure messages and frames taken from
the exceptions, and per-test line coverage.

Runs ``python -m pytest -p codeagent_probe`` directly (no runner, no fork server), with this
interpreter and with each interpreter listed in ``CODEAGENT_TEST_PYTHONS`` (``os.pathsep``
separated; each needs pytest), e.g. a 3.9 one (syntax) and a 3.12+ one (``sys.monitoring``).
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import codeagent.tools.testresults as tr
from codeagent.tools.command import run_command
from codeagent.tools.harness import harness_argv, run_environment
from codeagent.tools.pytest_runner import BASE_ARGS
from codeagent.tools.report_parse import load_report

OPS = '''\
"""Arithmetic with one bug."""
import json

SCALE = 2


def double(x):
    return x * SCALE


def mean(values):
    if not values:
        raise ValueError("mean of nothing")
    return sum(values) / (len(values) - 1)


def unused(x):
    return x + 1


def parse(text):
    return json.loads(text)


class Box:
    size = 3

    def area(self):
        return self.size * self.size
'''
BUGGY_LINE = 14
UNUSED_BODY = 18
MODULE_LINES = {2, 4, 7, 11, 17, 21, 25, 26, 28}
"""Lines of ops.py run at import: the import, the constant, def and class lines, the class
body."""

CONFTEST = """\
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


@pytest.fixture
def bad_teardown():
    yield 1
    raise RuntimeError("teardown broke")
"""

TESTS = """\
import pytest

from pkg.ops import Box, double, mean, parse


def test_double():
    assert double(2) == 4


def test_mean():
    assert mean([1.0, 2.0, 3.0]) == 2.0


def test_parse():
    parse("{bad")


def test_fixture_error(broken):
    pass


def test_teardown_error(bad_teardown):
    assert bad_teardown == 1


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert Box().area() == 10


@pytest.mark.xfail(reason="known")
def test_xpass():
    assert Box().area() == 9
"""

EXPECTED = {
    "tests/test_ops.py::test_double": "passed",
    "tests/test_ops.py::test_mean": "failed",
    "tests/test_ops.py::test_parse": "failed",
    "tests/test_ops.py::test_fixture_error": "error",
    "tests/test_ops.py::test_teardown_error": "error",
    "tests/test_ops.py::test_skipped": "skipped",
    "tests/test_ops.py::test_xfail": "xfailed",
    "tests/test_ops.py::test_xpass": "xpassed",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def interpreters() -> list[str]:
    extra = os.environ.get("CODEAGENT_TEST_PYTHONS", "")
    return [sys.executable, *(p for p in extra.split(os.pathsep) if p)]


@dataclass(frozen=True)
class Probed:
    report: tr.TestReport
    python: str

    @property
    def cases(self) -> dict[str, tr.TestCase]:
        return {c.nodeid: c for c in self.report.cases}

    @property
    def coverage(self) -> tr.Coverage:
        assert self.report.coverage is not None
        return self.report.coverage


def probe(root: Path, python: str, *, tracer: str = "") -> tr.TestReport:
    report = root / ".probe.jsonl"
    env = {
        **run_environment(root),
        "CODEAGENT_PROBE_REPORT": str(report),
        "CODEAGENT_PROBE_ROOT": str(root),
        "CODEAGENT_PROBE_COVERAGE": "1",
    }
    if tracer:
        env["CODEAGENT_PROBE_TRACER"] = tracer
    result = run_command(harness_argv(python, "pytest", BASE_ARGS), cwd=root, env=env, timeout=60)
    return load_report(report, result, coverage=True)


@pytest.fixture(scope="module", params=interpreters())
def probed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Probed:
    root = write_tree(
        tmp_path_factory.mktemp("project"),
        {
            "pkg/__init__.py": "VERSION = 1\n",
            "pkg/ops.py": OPS,
            "tests/conftest.py": CONFTEST,
            "tests/test_ops.py": TESTS,
            "tests/test_broken.py": "import pkg.missing\n",
        },
    )
    python: str = request.param
    return Probed(probe(root, python), python)


def test_each_outcome_is_reported(probed: Probed) -> None:
    assert {n: c.outcome for n, c in probed.cases.items()} == EXPECTED, probed.report.output
    assert probed.report.exit_code == 1
    assert all(c.duration > 0 for c in probed.report.cases)


def test_a_failure_carries_pytests_explanation(probed: Probed) -> None:
    message = probed.cases["tests/test_ops.py::test_mean"].message
    assert message.startswith("AssertionError: assert 3.0 == 2.0"), message
    assert "where 3.0 = mean([1.0, 2.0, 3.0])" in message


def test_frames_run_outermost_first_to_the_raising_line(probed: Probed) -> None:
    frames = probed.cases["tests/test_ops.py::test_parse"].frames
    assert (frames[0].path, frames[0].line, frames[0].function) == (
        "tests/test_ops.py",
        15,
        "test_parse",
    )
    assert (frames[1].path, frames[1].line, frames[1].function) == ("pkg/ops.py", 22, "parse")
    assert frames[0].in_repo
    assert frames[1].in_repo
    # json's own frames follow, outside the work copy: absolute and not the repository's.
    outside = frames[2:]
    assert outside
    assert all(not f.in_repo and os.path.isabs(f.path) for f in outside)
    assert outside[-1].path.endswith("decoder.py")
    assert "JSONDecodeError" in probed.cases["tests/test_ops.py::test_parse"].message


def test_a_fixture_error_points_at_the_fixture(probed: Probed) -> None:
    setup = probed.cases["tests/test_ops.py::test_fixture_error"]
    assert setup.message == "RuntimeError: fixture broke"
    assert [(f.path, f.line, f.function) for f in setup.frames] == [
        ("tests/conftest.py", 6, "broken")
    ]
    teardown = probed.cases["tests/test_ops.py::test_teardown_error"]
    assert teardown.message == "RuntimeError: teardown broke"
    assert teardown.frames[-1].line == 12


def test_a_module_that_fails_to_import_is_a_collection_error(probed: Probed) -> None:
    (error,) = probed.report.collection_errors
    assert error.nodeid == "tests/test_broken.py"
    assert error.outcome == "error"
    assert error.message == "ModuleNotFoundError: No module named 'pkg.missing'"
    assert [(f.path, f.line, f.in_repo) for f in error.frames] == [
        ("tests/test_broken.py", 1, True)
    ]


def test_a_failing_test_covers_the_buggy_line(probed: Probed) -> None:
    lines = probed.coverage.per_test["tests/test_ops.py::test_mean"]
    assert BUGGY_LINE in lines["pkg/ops.py"]
    assert lines["tests/test_ops.py"] == {11}


def test_a_test_covers_only_what_it_called(probed: Probed) -> None:
    per_test = probed.coverage.per_test
    assert per_test["tests/test_ops.py::test_double"]["pkg/ops.py"] == {8}
    assert all(UNUSED_BODY not in files.get("pkg/ops.py", ()) for files in per_test.values())
    assert "pkg/ops.py" not in per_test["tests/test_ops.py::test_skipped"]
    # Fixture code runs in setup and teardown, and belongs to the test.
    assert per_test["tests/test_ops.py::test_teardown_error"]["tests/conftest.py"] == {11, 12}


def test_module_level_lines_belong_to_import_time(probed: Probed) -> None:
    at_import = probed.coverage.at_import["pkg/ops.py"]
    assert at_import >= MODULE_LINES
    assert BUGGY_LINE not in at_import
    for files in probed.coverage.per_test.values():
        assert not files.get("pkg/ops.py", frozenset()) & MODULE_LINES
    # The failed import ran its one line, at collection time.
    assert probed.coverage.at_import["tests/test_broken.py"] == {1}


def test_only_repository_files_are_covered(probed: Probed) -> None:
    files = set(probed.coverage.at_import)
    for per_file in probed.coverage.per_test.values():
        files |= set(per_file)
    assert files == {
        "pkg/__init__.py",
        "pkg/ops.py",
        "tests/test_ops.py",
        "tests/conftest.py",
        "tests/test_broken.py",
    }


def python_with_monitoring() -> Iterator[str]:
    for python in interpreters():
        result = run_command(
            [python, "-c", "import sys; print(hasattr(sys, 'monitoring'))"],
            cwd=Path.cwd(),
            env=run_environment(Path.cwd()),
            timeout=30,
        )
        if result.output.strip() == "True":
            yield python


def test_settrace_and_monitoring_record_the_same_lines(tmp_path: Path) -> None:
    python = next(python_with_monitoring(), None)
    if python is None:
        pytest.skip("no interpreter with sys.monitoring (3.12+) in CODEAGENT_TEST_PYTHONS")
    root = write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/ops.py": OPS,
            "tests/conftest.py": CONFTEST,
            "tests/test_ops.py": TESTS,
        },
    )
    monitored = probe(root, python).coverage
    traced = probe(root, python, tracer="settrace").coverage
    assert monitored is not None
    assert traced is not None
    assert monitored.per_test == traced.per_test
    assert monitored.at_import == traced.at_import


def test_lines_in_threads_are_covered(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/work.py": """\
                import threading


                def in_thread(out):
                    out.append(1)


                def run():
                    out = []
                    thread = threading.Thread(target=in_thread, args=(out,))
                    thread.start()
                    thread.join()
                    return out
            """,
            "tests/test_work.py": """\
                from pkg.work import run


                def test_run():
                    assert run() == [1]
            """,
        },
    )
    for python in interpreters():
        report = probe(root, python)
        assert report.coverage is not None
        lines = report.coverage.per_test["tests/test_work.py::test_run"]["pkg/work.py"]
        assert 5 in lines, python
