"""What counts as green, which files a fix may touch, and code that reaches into the harness:
the pure rules (``agent.expectations``, ``agent.guard``, ``agent.tamper``) and the probe's
records they rest on, in a real pytest process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from codeagent.agent.expectations import Expectations, shortfalls
from codeagent.agent.guard import Guard
from codeagent.agent.tamper import harness_reach
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.testresults import TestCase, TestLayout, TestReport
from tests.test_test_runner import write_tree

PYTHON = sys.executable


def report(*cases: tuple[str, str], exit_code: int = 0, **extra: object) -> TestReport:
    made = tuple(TestCase(n, o) for n, o in cases)
    fields: dict[str, object] = {
        "finished": True,
        "end_status": exit_code,
        "collected": len(made),
        **extra,
    }
    return TestReport(exit_code, made, **fields)  # type: ignore[arg-type]


BASE = report(("t::a", "failed"), ("t::b", "passed"), ("t::c", "passed"), exit_code=1)
EXPECT = Expectations.from_baseline(BASE, ["t::a"])


def test_a_complete_run_with_every_required_test_passed_is_green() -> None:
    green = report(("t::a", "passed"), ("t::b", "passed"), ("t::c", "passed"))
    assert EXPECT.of_suite(green) == []
    assert EXPECT.of_targets(report(("t::a", "passed")), ["t::a"]) == []


@pytest.mark.parametrize(
    ("run", "says"),
    [
        # the process ended before pytest did (os._exit, a crash): no session end
        (report(("t::a", "passed"), ("t::b", "passed"), finished=False), "did not finish"),
        # pytest meant 1, the process said 0 (something exited over pytest's head)
        (report(("t::a", "passed"), ("t::b", "passed"), ("t::c", "passed"), end_status=1),
         "meant to exit with 1"),
        # the target skipped, a passing test xfailed, one not run at all
        (report(("t::a", "skipped"), ("t::b", "passed"), ("t::c", "passed")), "t::a (skipped)"),
        (report(("t::a", "passed"), ("t::b", "xfailed"), ("t::c", "passed")), "t::b (xfailed)"),
        (report(("t::a", "passed"), ("t::b", "passed")), "t::c (not run)"),
        # fewer tests run than at the start (deselected in the configuration)
        (report(("t::a", "passed"), ("t::b", "passed"), ("t::c", "passed"), collected=2,
                deselected=1), "2 tests, 3 at the start (1 deselected)"),
        (report(("t::a", "passed"), ("t::b", "passed"), ("t::c", "passed"), timed_out=True),
         "timed out"),
        (report(("t::a", "passed"), ("t::b", "failed"), ("t::c", "passed"), exit_code=1),
         "1 test failed: t::b"),
    ],
)  # fmt: skip
def test_a_run_that_did_not_really_pass_is_not_green(run: TestReport, says: str) -> None:
    lacking = EXPECT.of_suite(run)
    assert lacking, run
    assert says in "; ".join(lacking)


def test_a_partial_fix_may_leave_the_other_targets_failing_but_nothing_else() -> None:
    base = report(("t::a", "failed"), ("t::z", "failed"), ("t::b", "passed"), exit_code=1)
    expect = Expectations.from_baseline(base, ["t::a", "t::z"])
    partial = report(("t::a", "passed"), ("t::z", "failed"), ("t::b", "passed"), exit_code=1)
    assert expect.of_suite(partial, keep=["t::a"], may_fail=["t::z"]) == []
    broke = report(("t::a", "passed"), ("t::z", "failed"), ("t::b", "failed"), exit_code=1)
    assert expect.of_suite(broke, keep=["t::a"], may_fail=["t::z"])
    assert expect.of_suite(partial)  # not a fix


def test_shortfalls_of_a_run_with_no_tests_required() -> None:
    assert shortfalls(report(exit_code=5), must_pass=()) == []
    assert shortfalls(report(("t::a", "passed"), exit_code=2), must_pass=())


# -- the probe's records, in a real run --------------------------------------------------------


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_a_suite_that_dies_part_way_names_the_test_that_was_running(
    tmp_path: Path, fork: bool
) -> None:
    root = write_tree(
        tmp_path,
        {
            "tests/test_a.py": "def test_first():\n    pass\n",
            "tests/test_b.py": "import os\n\ndef test_dies():\n    os._exit(1)\n",
            "tests/test_c.py": "def test_never():\n    pass\n",
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        run = runner.run()
    assert not run.finished
    assert not run.green
    assert [(c.nodeid, c.outcome) for c in run.cases] == [
        ("tests/test_a.py::test_first", "passed"),
        ("tests/test_b.py::test_dies", "failed"),
    ]
    assert "ended while this test was running (exit status 1)" in run.cases[1].message
    assert run.collected == 3


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_the_probe_records_the_layout_and_what_was_deselected(tmp_path: Path, fork: bool) -> None:
    root = write_tree(
        tmp_path,
        {
            "pyproject.toml": """\
                [tool.pytest.ini_options]
                python_files = ["tests.py", "check_*.py"]
                addopts = "--deselect app/tests.py::test_two"
            """,
            "app/__init__.py": "",
            "app/models.py": "X = 1\n",
            "app/tests.py": "def test_one():\n    pass\n\ndef test_two():\n    pass\n",
            "app/conftest.py": "",
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        run = runner.run()
    assert run.green, run.output
    assert (run.collected, run.deselected) == (1, 1)
    assert run.layout is not None
    assert run.layout.test_files == {"app/tests.py"}
    assert run.layout.conftests == {"app/conftest.py"}
    assert run.layout.python_files == ("tests.py", "check_*.py")
    assert Path(run.layout.inifile).name == "pyproject.toml"


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_the_code_under_test_cannot_read_where_the_report_goes(tmp_path: Path, fork: bool) -> None:
    root = write_tree(
        tmp_path,
        {
            "tests/test_env.py": """\
                import os

                def test_env():
                    assert not [k for k in os.environ if k.startswith("CODEAGENT_PROBE")]
            """
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        assert runner.run().green


# -- which files a fix may touch ---------------------------------------------------------------


def test_the_guard_refuses_tests_configuration_and_harness_files(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "helpers.py").write_text("")
    (tmp_path / "t").symlink_to("tests")
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "check_x.py").write_text("")  # a folder of nothing but tests
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tests.py").write_text("")  # Django's: beside the code it tests
    (tmp_path / "app" / "models.py").write_text("")
    layout = TestLayout(
        test_files=frozenset({"app/tests.py", "spec/check_x.py", "testing/test_util.py"}),
        python_files=("tests.py", "check_*.py"),
    )
    guard = Guard(tmp_path, layout)
    refused = {
        "tests/helpers.py": "is a test file",
        "t/helpers.py": "that is tests/helpers.py",
        "app/tests.py": "pytest collects it",
        "lib/tests.py": "python_files",
        "spec/data.json": "test folder spec/",
        "sub/conftest.py": "pytest's configuration",
        "pytest.ini": "pytest's configuration",
        "testing/helper.py": "test folder testing/",
    }
    for path, why in refused.items():
        reason = guard.refusal(path, "x", "y") or ""
        assert why in reason, (path, reason)
    # numpy.testing-style packages are library code when no test is collected from them
    for path in ("app/models.py", "lib/core.py", "setup.py", "lib/testing/asserts.py"):
        assert guard.refusal(path, "x", "y") is None, path
    for path in (".gitattributes", "pkg/.gitmodules", "sitecustomize.py", "evil.pth"):
        assert Guard(tmp_path, layout, allow_test_edits=True).refusal(path, None, "x")
    assert (
        Guard(tmp_path, layout, allow_test_edits=True).refusal("tests/helpers.py", "", "x") is None
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "refused"),
    [
        ("pyproject.toml", "[project]\nname='x'\n", "[project]\nname='y'\n", False),
        ("pyproject.toml", "[project]\nname='x'\n",
         "[project]\nname='x'\n[tool.pytest.ini_options]\naddopts='-k not mean'\n", True),
        ("pyproject.toml", "[tool.pytest.ini_options]\naddopts='-q'\n",
         "[tool.pytest.ini_options]\naddopts='-q -p evil'\n", True),
        ("pyproject.toml", "[tool.pytest.ini_options]\n", "[tool.pytest.ini_options\n", True),
        ("setup.cfg", "[metadata]\nname = x\n", "[metadata]\nname = y\n", False),
        ("setup.cfg", "[metadata]\nname = x\n", "[tool:pytest]\naddopts = --deselect a\n", True),
        ("tox.ini", "[tox]\nenvlist = py\n", "[tox]\nenvlist = py\n[pytest]\naddopts = -x\n", True),
        ("tox.ini", None, "[tox]\n", False),
    ],
)  # fmt: skip
def test_a_config_file_edit_counts_as_a_test_edit_when_it_changes_pytests_section(
    tmp_path: Path, name: str, old: str | None, new: str, refused: bool
) -> None:
    assert (Guard(tmp_path).refusal(name, old, new) is not None) is refused


# -- code that reaches into the harness ---------------------------------------------------------


@pytest.mark.parametrize(
    "new",
    [
        "import pytest\n\ndef f():\n    pytest.skip('no')\n",
        "import os\n\ndef f():\n    os._exit(0)\n",
        "import os as o\n\ndef f():\n    o._exit(0)\n",
        "from os import _exit as bye\n\ndef f():\n    bye(0)\n",
        "import sys\n\ndef f():\n    sys.modules['codeagent_probe'].Probe = None\n",
        "import gc\n\ndef f():\n    return gc.get_objects()\n",
        "from unittest import case\n\ndef f():\n    raise case.SkipTest()\n",
        "def f():\n    return eval('1')\n",
        "def f(path='/proc/1/environ'):\n    return open(path).read()\n",
        "import ctypes\n",
    ],
)
def test_new_code_that_reaches_into_the_harness_is_named(new: str) -> None:
    assert harness_reach("def f():\n    return 1\n", new) is not None


def test_what_the_file_had_before_is_not_held_against_a_fix() -> None:
    plugin = "import pytest\n\n@pytest.fixture\ndef thing():\n    return 1\n"
    assert harness_reach(plugin, plugin.replace("return 1", "return 2")) is None
    assert harness_reach("x = 1\n", "x = 2\n") is None
    assert harness_reach("x = 1\n", "x = (\n") is None  # does not parse: the tests will say
