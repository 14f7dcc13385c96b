"""The test runner with real processes: bounded commands, the fork server, the reports.

Every project here is a real tmp directory run by a real interpreter; "no process left" is
checked by asking the kernel for the process group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import codeagent.tools.testresults as tr
from codeagent import errors
from codeagent.tools.command import Capture, CommandResult, run_command
from codeagent.tools.forkserver import fork_supported
from codeagent.tools.harness import run_environment
from codeagent.tools.pytest_runner import PytestRunner, split_args
from codeagent.tools.report_parse import load_report, parse_pytest_output, parse_report

PYTHON = sys.executable
MODES = [pytest.param(True, id="fork"), pytest.param(False, id="subprocess")]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def live(pid: int, *, group: bool = False) -> bool:
    """Whether process ``pid`` (or a member of group ``pid``) is alive. A killed process
    stays a zombie until its parent (init, for orphans) reaps it, which some container inits
    do slowly: zombies do not count where ``/proc`` can tell them apart."""
    proc = Path("/proc")
    if not (proc / "self/stat").exists():
        try:
            (os.killpg if group else os.kill)(pid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue  # the process ended while we looked
        fields = rest.split()
        member = int(fields[2]) == pid if group else int(head.split(" (")[0]) == pid
        if member and fields[0] != "Z":
            return True
    return False


def gone(pid: int, *, group: bool = False, seconds: float = 5.0) -> bool:
    """Whether the process (or group) ``pid`` is gone within ``seconds``."""
    until = time.monotonic() + seconds
    while live(pid, group=group):
        if time.monotonic() > until:
            return False
        time.sleep(0.02)
    return True


CALC = {
    "calc/__init__.py": "",
    "calc/ops.py": """\
        def less(a, b):
            return a < b


        def mean(values):
            return sum(values) / (len(values) - 1)
    """,
    "tests/test_ops.py": """\
        import pytest

        from calc.ops import less, mean


        def test_less():
            assert less(1, 2)


        def test_mean():
            assert mean([1.0, 2.0, 3.0]) == 2.0


        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")


        def test_error(broken):
            pass
    """,
}


@pytest.fixture(params=MODES)
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PytestRunner]:
    with PytestRunner(write_tree(tmp_path, CALC), python=PYTHON, fork=request.param) as run:
        yield run


# -- command ----------------------------------------------------------------------------------


def test_capture_keeps_head_and_tail_and_says_what_was_cut() -> None:
    capture = Capture(limit=10)
    for chunk in (b"abc", b"defgh", b"ijklmnop", b"qrstuvwxyz"):
        capture.feed(chunk)
    assert capture.total == 26
    assert capture.cut == 16
    assert capture.text() == "abcde\n[... 16 bytes of output cut ...]\nvwxyz"
    whole = Capture(limit=10)
    whole.feed("é".encode() * 5)  # a character split between head and tail stays whole
    assert whole.text() == "ééééé"


def test_a_command_past_its_timeout_is_killed_with_its_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = run_command([PYTHON, "-c", script], cwd=tmp_path, env=os.environ, timeout=1.0)
    assert result.timed_out
    assert result.exit_code == -9
    assert time.monotonic() - started < 10
    assert "started" in result.output
    leader, child = map(int, pids.read_text().split())
    assert gone(leader, group=True)
    assert gone(child)


def test_a_background_process_does_not_hold_the_run_open(tmp_path: Path) -> None:
    # The child inherits stdout and outlives its parent: the run ends when the parent does.
    script = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
    )
    started = time.monotonic()
    result = run_command([PYTHON, "-c", script], cwd=tmp_path, env=os.environ, timeout=30)
    assert not result.timed_out
    assert result.exit_code == 0
    assert time.monotonic() - started < 10
    child = int(result.output.split()[0])
    assert gone(child)


def test_huge_output_is_bounded(tmp_path: Path) -> None:
    script = (
        "import sys\nfor _ in range(50):\n    sys.stdout.write('x' * (1 << 20))\nprint('end')\n"
    )
    result = run_command([PYTHON, "-c", script], cwd=tmp_path, env=os.environ, timeout=60)
    assert result.exit_code == 0
    assert result.truncated > 49 * (1 << 20)
    assert len(result.output) < (1 << 20) + 200
    assert result.output.endswith("end\n")
    assert "bytes of output cut" in result.output


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    script = "import sys\nsys.stdout.buffer.write(b'bad \\xff\\xfe bytes\\n')\n"
    result = run_command([PYTHON, "-c", script], cwd=tmp_path, env=os.environ, timeout=30)
    assert result.output == "bad \ufffd\ufffd bytes\n"


def test_a_missing_program_is_a_test_run_error(tmp_path: Path) -> None:
    with pytest.raises(errors.TestRunError, match="cannot run"):
        run_command([str(tmp_path / "nope")], cwd=tmp_path, env={}, timeout=5)


# -- environment and arguments ----------------------------------------------------------------


def test_the_environment_is_minimal_and_puts_the_work_copy_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    (tmp_path / "src").mkdir()
    env = run_environment(tmp_path)
    assert "OPENAI_API_KEY" not in env
    assert "PYTHONPATH" not in env  # the harness starts isolated from the project's path
    paths = env["CODEAGENT_PYTHONPATH"].split(os.pathsep)
    assert paths == [str(tmp_path), str(tmp_path / "src")]
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONHASHSEED"] == "0"


def test_user_arguments_split_into_options_and_paths() -> None:
    options, paths = split_args(["tests/unit", "-k", "not slow", "-x", "--tb=short", "-p", "xdist"])
    assert paths == ["tests/unit"]
    assert options == ["-k", "not slow", "-x", "--tb=short", "-p", "xdist"]


# -- runner -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fork", MODES)
def test_outcomes_and_failures_come_back_typed(tmp_path: Path, fork: bool) -> None:
    root = write_tree(tmp_path, CALC)
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        report = runner.run()
        assert runner.forking == (fork and fork_supported())
    outcomes = {c.nodeid: c.outcome for c in report.cases}
    assert outcomes == {
        "tests/test_ops.py::test_less": "passed",
        "tests/test_ops.py::test_mean": "failed",
        "tests/test_ops.py::test_error": "error",
    }
    assert report.exit_code == 1
    assert report.ran
    assert not report.green
    assert [f.nodeid for f in report.failures] == [
        "tests/test_ops.py::test_mean",
        "tests/test_ops.py::test_error",
    ]
    assert "FAILED tests/test_ops.py::test_mean" in report.output
    assert report.coverage is None
    assert not list(root.rglob("__pycache__")), "bytecode was written into the work copy"
    assert not (root / ".pytest_cache").exists()


@pytest.mark.parametrize("fork", MODES)
def test_select_runs_only_those_tests(tmp_path: Path, fork: bool) -> None:
    # The user's test path gives way to the selection; their options stay.
    args = ["tests/test_ops.py", "-k", "not test_error"]
    with PytestRunner(write_tree(tmp_path, CALC), python=PYTHON, args=args, fork=fork) as runner:
        report = runner.run(["tests/test_ops.py::test_less"])
        assert [(c.nodeid, c.outcome) for c in report.cases] == [
            ("tests/test_ops.py::test_less", "passed")
        ]
        assert report.green
        assert runner.run([]).cases == ()
        everything = runner.run()
        assert [c.nodeid for c in everything.cases] == [
            "tests/test_ops.py::test_less",
            "tests/test_ops.py::test_mean",
        ]


def test_exitfirst_stops_at_the_first_failure(runner: PytestRunner) -> None:
    report = runner.run(exitfirst=True)
    assert [c.outcome for c in report.cases] == ["passed", "failed"]


def test_coverage_through_the_runner(runner: PytestRunner) -> None:
    report = runner.run(coverage=True)
    assert report.coverage is not None
    assert report.coverage.per_test["tests/test_ops.py::test_mean"]["calc/ops.py"] == {6}
    assert "calc/ops.py" not in report.coverage.per_test["tests/test_ops.py::test_error"]
    assert report.coverage.at_import["calc/ops.py"] == {1, 5}


@pytest.mark.parametrize("fork", MODES)
def test_a_file_rewritten_in_place_is_seen_by_the_next_run(tmp_path: Path, fork: bool) -> None:
    # The stale-bytecode trap: same size, same mtime. Had the first run cached bytecode
    # (a .pyc, or a module kept by the server), the second would pass on the old code.
    root = write_tree(tmp_path, CALC)
    ops = root / "calc/ops.py"
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        assert runner.run(["tests/test_ops.py::test_less"]).green
        before = ops.stat()
        ops.write_text(ops.read_text().replace("a < b", "a > b"))
        os.utime(ops, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert ops.stat().st_size == before.st_size
        report = runner.run(["tests/test_ops.py::test_less"])
        assert [c.outcome for c in report.cases] == ["failed"]
        assert runner.forking == (fork and fork_supported())


@pytest.mark.parametrize("fork", MODES)
def test_a_test_past_the_timeout_is_killed_with_its_children(tmp_path: Path, fork: bool) -> None:
    pids = tmp_path / "pids"
    root = write_tree(
        tmp_path / "project",
        {
            "tests/test_slow.py": f"""\
                import os, subprocess, sys, time


                def test_quick():
                    pass


                def test_sleeps():
                    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                    with open({str(pids)!r}, "w") as out:
                        out.write(f"{{os.getpgid(0)}} {{child.pid}}")
                    time.sleep(60)
            """
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        started = time.monotonic()
        report = runner.run(timeout=3.0)
        assert time.monotonic() - started < 15
        assert report.timed_out
        assert not report.green
        # The report is written test by test: what finished before the kill is there, and
        # the test that was running when it was killed is its failure.
        assert [(c.nodeid, c.outcome) for c in report.cases] == [
            ("tests/test_slow.py::test_quick", "passed"),
            ("tests/test_slow.py::test_sleeps", "failed"),
        ]
        assert "killed at the timeout" in report.cases[1].message
        group, child = map(int, pids.read_text().split())
        assert gone(group, group=True)
        assert gone(child)
        # The runner is still usable after a timeout.
        assert runner.run(["tests/test_slow.py::test_quick"]).green


@pytest.mark.parametrize("fork", MODES)
def test_a_test_printing_50_mb_is_bounded(tmp_path: Path, fork: bool) -> None:
    root = write_tree(
        tmp_path,
        {
            "tests/test_loud.py": """\
                import sys


                def test_loud():
                    for _ in range(50):
                        sys.stdout.write("y" * (1 << 20))
                    assert False
            """
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        report = runner.run()
    assert [c.outcome for c in report.cases] == ["failed"]
    assert len(report.output) < (1 << 20) + 200
    assert "bytes of output cut" in report.output
    assert "1 failed" in report.output[-300:]


@pytest.mark.parametrize("fork", MODES)
def test_invalid_utf8_from_a_test_is_replaced(tmp_path: Path, fork: bool) -> None:
    root = write_tree(
        tmp_path,
        {
            "tests/test_bytes.py": """\
                import os


                def test_bytes():
                    os.write(1, b"raw \\xff bytes\\n")
            """
        },
    )
    with PytestRunner(root, python=PYTHON, args=["-s"], fork=fork) as runner:
        report = runner.run()
    assert report.green
    assert "raw \ufffd bytes" in report.output


@pytest.mark.parametrize("fork", MODES)
def test_warnings_as_errors_do_not_trip_on_preloaded_plugins(tmp_path: Path, fork: bool) -> None:
    # The fork server imports installed pytest plugins before pytest could rewrite them;
    # pytest says so with a warning, which this project makes an error.
    root = write_tree(
        tmp_path,
        {
            **CALC,
            "pytest.ini": """\
                [pytest]
                filterwarnings = error::pytest.PytestAssertRewriteWarning
            """,
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        report = runner.run(["tests/test_ops.py::test_less"])
    assert report.green, report.output


def test_a_conftest_that_fails_to_import_is_a_collection_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {**CALC, "tests/conftest.py": "import calc.missing\n"})
    with PytestRunner(root, python=PYTHON) as runner:
        report = runner.run()
    assert report.exit_code == 4
    (error,) = report.collection_errors
    assert error.nodeid == "tests/conftest.py"
    assert error.message == "ModuleNotFoundError: No module named 'calc.missing'"
    assert [(f.path, f.line) for f in error.frames] == [("tests/conftest.py", 1)]
    assert not report.green


def test_a_missing_interpreter_or_root_is_a_test_run_error(tmp_path: Path) -> None:
    with pytest.raises(errors.TestRunError, match="does not exist"):
        PytestRunner(tmp_path, python=str(tmp_path / "bin/python"))
    with pytest.raises(errors.TestRunError, match="not a directory"):
        PytestRunner(tmp_path / "nowhere", python=PYTHON)


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv of this interpreter's base Python, without pip: no pytest in it."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv


@pytest.mark.parametrize("fork", MODES)
def test_an_interpreter_without_pytest_is_a_test_run_error(
    tmp_path: Path, bare_venv: Path, fork: bool
) -> None:
    python = str(bare_venv / "bin/python")
    with (
        PytestRunner(write_tree(tmp_path, CALC), python=python, fork=fork) as runner,
        pytest.raises(errors.TestRunError, match="pytest") as raised,
    ):
        runner.run()
    assert python in str(raised.value)


def test_a_usage_error_is_a_test_run_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path, CALC)
    with (
        PytestRunner(root, python=PYTHON, args=["--no-such-option"]) as runner,
        pytest.raises(errors.TestRunError, match="usage error"),
    ):
        runner.run()


@pytest.mark.parametrize("fork", MODES)
def test_the_work_copy_beats_an_editable_install_of_the_original(
    tmp_path: Path, bare_venv: Path, fork: bool
) -> None:
    """The user's venv has the package installed in development mode from their own tree,
    both ways setuptools does it: a path in a .pth file, and a finder on ``sys.meta_path``.
    The tests must still import the work copy."""
    original = write_tree(tmp_path / "original", {"calc/__init__.py": "WHERE = 'original'\n"})
    work = write_tree(
        tmp_path / "work",
        {
            "calc/__init__.py": "WHERE = 'work copy'\n",
            "tests/test_where.py": """\
                import calc


                def test_where():
                    assert calc.WHERE == "work copy"
            """,
        },
    )
    venv = tmp_path / "venv"
    subprocess.run(
        [PYTHON, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True
    )
    (site,) = venv.glob("lib/python*/site-packages")
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "pytest").exists())
    (site / "ours.pth").write_text(ours + "\n")  # pytest, like the user's venv has it
    (site / "__editable__.calc.pth").write_text(f"{original}\n")
    (site / "calc_finder.py").write_text(
        textwrap.dedent(
            f"""\
            import importlib.util, sys

            class Finder:
                @classmethod
                def find_spec(cls, name, path=None, target=None):
                    if name != "calc":
                        return None
                    return importlib.util.spec_from_file_location(
                        "calc", {str(original / "calc/__init__.py")!r},
                        submodule_search_locations=[{str(original / "calc")!r}])

            def install():
                sys.meta_path.append(Finder)
            """
        )
    )
    (site / "__editable___calc_finder.pth").write_text(
        "import calc_finder; calc_finder.install()\n"
    )
    python = str(venv / "bin/python")
    # The trap is real: outside the runner's environment the original wins.
    check = subprocess.run(
        [python, "-c", "import calc; print(calc.WHERE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "original"
    with PytestRunner(work, python=python, fork=fork) as runner:
        report = runner.run()
    assert [c.outcome for c in report.cases] == ["passed"], report.output


# -- fork server ------------------------------------------------------------------------------

KILLER = """\
    import os, signal
    from pathlib import Path


    def test_kills_the_server():
        # Only a fork server parent is killed (never the test session running us).
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as cmdline:
            parent = cmdline.read()
        marker = Path(__file__).with_name("killed")
        if b"codeagent_forkserver" in parent and (KILL_ALWAYS or not marker.exists()):
            marker.write_text("x")
            os.kill(os.getppid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_server_that_dies_is_restarted_once(tmp_path: Path) -> None:
    test = textwrap.dedent(KILLER).replace("KILL_ALWAYS", "False")
    root = write_tree(tmp_path, {"tests/test_kill.py": test})
    with PytestRunner(root, python=PYTHON) as runner:
        report = runner.run()
        assert report.green, report.output
        assert runner.forking
        assert "exited" in runner.server_error
        assert runner.run().green


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_server_that_keeps_dying_is_given_up(tmp_path: Path) -> None:
    test = textwrap.dedent(KILLER).replace("KILL_ALWAYS", "True")
    root = write_tree(tmp_path, {"tests/test_kill.py": test})
    with PytestRunner(root, python=PYTHON) as runner:
        report = runner.run()
        assert report.green, report.output
        assert not runner.forking


def test_the_first_full_run_warms_the_server_with_third_party_modules(tmp_path: Path) -> None:
    """After a full run the server imports the standard library and site-packages modules
    that run imported (here ``graphlib``, which no pytest plugin imports), never the
    project's own (``calc``)."""
    seen = tmp_path / "seen"
    root = write_tree(
        tmp_path / "project",
        {
            "calc/__init__.py": "VALUE = 1\n",
            "tests/conftest.py": f"""\
                import sys

                with open({str(seen)!r}, "a") as out:
                    out.write(f"{{'graphlib' in sys.modules}} {{'calc' in sys.modules}}\\n")
            """,
            "tests/test_uses.py": """\
                import graphlib

                import calc


                def test_modules():
                    assert calc.VALUE == 1
                    order = graphlib.TopologicalSorter({"b": {"a"}}).static_order()
                    assert list(order) == ["a", "b"]
            """,
        },
    )
    with PytestRunner(root, python=PYTHON) as runner:
        assert runner.run().green
        assert runner.run(["tests/test_uses.py::test_modules"]).green
        assert runner.forking, runner.server_error
    assert seen.read_text().splitlines() == ["False False", "True False"]


def test_modules_a_plugin_imports_as_late_as_the_terminal_summary_are_preloaded(
    tmp_path: Path,
) -> None:
    """hypothesis's pytest plugin imports all of hypothesis in its terminal summary: unless the
    server preloads it, every forked run pays that import again (0.6 s a run, measured)."""
    seen = tmp_path / "seen"
    root = write_tree(
        tmp_path / "project",
        {
            "tests/conftest.py": f"""\
                import sys

                with open({str(seen)!r}, "a") as out:
                    out.write(f"{{'tabnanny' in sys.modules}}\\n")


                def pytest_terminal_summary():
                    import tabnanny
            """,
            "tests/test_it.py": "def test_it():\n    pass\n",
        },
    )
    with PytestRunner(root, python=PYTHON) as runner:
        assert runner.run().green
        assert runner.run(["tests/test_it.py::test_it"]).green
        assert runner.forking, runner.server_error
    assert seen.read_text().splitlines() == ["False", "True"]


# -- reports ----------------------------------------------------------------------------------


def done(exit_code: int = 1) -> CommandResult:
    return CommandResult(exit_code, "output", 0.5, timed_out=False)


def test_a_missing_report_keeps_the_exit_code_and_output(tmp_path: Path) -> None:
    report = load_report(tmp_path / "none.jsonl", done(3), coverage=True)
    assert report == tr.TestReport(
        exit_code=3, output="output", duration=0.5, coverage=tr.Coverage()
    )
    assert not report.ran


def test_a_malformed_or_truncated_report_keeps_what_parses() -> None:
    good = {
        "k": "case",
        "nodeid": "t.py::a",
        "outcome": "failed",
        "duration": 0.1,
        "message": "boom",
        "frames": [{"path": "t.py", "line": 3, "function": "a", "in_repo": True}, {"path": 7}],
    }
    text = "\n".join(
        [
            json.dumps(good),
            "not json",
            json.dumps([1, 2]),
            json.dumps({"k": "case", "nodeid": "t.py::b", "outcome": "exploded"}),
            json.dumps({"k": "case", "nodeid": 5, "outcome": "passed"}),
            json.dumps({"k": "case", "nodeid": "t.py::c", "outcome": "passed", "duration": "x"}),
            "[" * 100_000 + "]" * 100_000,
            '{"k": "case", "nodeid": "t.py::e", "outcome": "passed", "duration": 1e999999}',
            '{"k": "case", "nodeid": "t.py::f", "outcome": "passed", "duration": '
            + "9" * 400
            + "}",
            json.dumps({"k": "lines", "nodeid": "t.py::a", "files": {"m.py": [1, "2", True, 3]}}),
            json.dumps({"k": "import_lines", "files": ["nonsense"]}),
            '{"k": "case", "nodeid": "t.py::d", "outc',
        ]
    )
    report = parse_report(text, done(), coverage=True)
    assert report.cases == (
        tr.TestCase("t.py::a", "failed", 0.1, "boom", (tr.Frame("t.py", 3, "a", True),)),
        tr.TestCase("t.py::c", "passed"),
        tr.TestCase("t.py::e", "passed"),
        tr.TestCase("t.py::f", "passed"),
    )
    assert report.coverage == tr.Coverage(per_test={"t.py::a": {"m.py": frozenset({1, 3})}})


PYTEST_TEXT = """\
============================= test session starts ==============================
collected 4 items

tests/test_ops.py .FF                                                    [100%]

==================================== ERRORS ====================================
_____________________ ERROR collecting tests/test_bad.py ______________________
tests/test_bad.py:1: in <module>
    import calc.missing
E   ModuleNotFoundError: No module named 'calc.missing'
=================================== FAILURES ===================================
__________________________________ test_mean ___________________________________

    def test_mean():
>       assert mean([1.0, 2.0, 3.0]) == 2.0
E       assert 3.0 == 2.0
E        +  where 3.0 = mean([1.0, 2.0, 3.0])

tests/test_ops.py:11: AssertionError
_____________________________ TestParse.test_x[a b] ____________________________

self = <tests.test_ops.TestParse object at 0x7f>

    def test_x(self):
>       parse("{bad")

tests/test_ops.py:20:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def parse(text):
>       return json.loads(text)

calc/ops.py:9:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
/usr/lib/python3.11/json/__init__.py:346: in loads
    return _default_decoder.decode(s)
E   json.decoder.JSONDecodeError: Expecting property name
==================================== PASSES ====================================
__________________________________ test_add ____________________________________
----------------------------- Captured stdout call -----------------------------
tests/test_ops.py:5: in test_add
=========================== short test summary info ============================
ERROR tests/test_bad.py
FAILED tests/test_ops.py::test_mean - assert 3.0 == 2.0
FAILED tests/test_ops.py::TestParse::test_x[a b] - json.decoder.JSONDecodeError: Expect...
========================= 2 failed, 1 passed, 1 error in 0.05s =========================
"""


def test_plain_pytest_text_gives_failures_and_frames() -> None:
    cases = {c.nodeid: c for c in parse_pytest_output(PYTEST_TEXT, root=Path("/work/copy"))}
    assert set(cases) == {
        "tests/test_bad.py",
        "tests/test_ops.py::test_mean",
        "tests/test_ops.py::TestParse::test_x[a b]",
    }
    assert cases["tests/test_bad.py"].outcome == "error"
    assert cases["tests/test_bad.py"].frames == (
        tr.Frame("tests/test_bad.py", 1, "<module>", True),
    )
    mean = cases["tests/test_ops.py::test_mean"]
    assert (mean.outcome, mean.message) == ("failed", "assert 3.0 == 2.0")
    assert mean.frames == (tr.Frame("tests/test_ops.py", 11, "test_mean", True),)
    parse = cases["tests/test_ops.py::TestParse::test_x[a b]"]
    assert parse.frames == (
        tr.Frame("tests/test_ops.py", 20, "test_x", True),
        tr.Frame("calc/ops.py", 9, "parse", True),
        tr.Frame("/usr/lib/python3.11/json/__init__.py", 346, "loads", False),
    )


def test_real_pytest_text_agrees_with_the_probe(tmp_path: Path) -> None:
    root = write_tree(tmp_path, CALC)
    with PytestRunner(root, python=PYTHON, fork=False) as runner:
        report = runner.run()
    parsed = {c.nodeid: c for c in parse_pytest_output(report.output, root=root)}
    assert set(parsed) == {c.nodeid for c in report.failures}
    for case in report.failures:
        assert parsed[case.nodeid].outcome == case.outcome
        assert parsed[case.nodeid].frames[-1].line == case.frames[-1].line


# -- the harness cannot be replaced by the project ----------------------------------------------

IMPOSTOR = """\
    # Pretends to be codeagent's {name}: leaves a mark if it is ever imported.
    import os
    open(os.path.join({marks!r}, "{name}"), "w").close()
"""
FAKE_PROBE = """\
    # Pretends to be the probe: reports every test as passed.
    import json, os
    open(os.path.join({marks!r}, "codeagent_probe"), "w").close()

    def pytest_sessionfinish(session, exitstatus):
        path = os.environ.get("CODEAGENT_PROBE_REPORT")
        if path:
            with open(path, "w") as out:
                out.write(json.dumps({{"k": "case", "nodeid": "tests/test_it.py::test_fails",
                                      "outcome": "passed"}}) + "\\n")
                out.write(json.dumps({{"k": "end", "exitstatus": 0}}) + "\\n")
"""


@pytest.mark.parametrize("fork", MODES)
def test_files_named_like_the_harness_in_the_project_do_not_replace_it(
    tmp_path: Path, fork: bool
) -> None:
    """A project (or a model) that adds modules named like the probe, the fork server or the
    reaper, a ``sitecustomize.py`` or a ``pytest.py`` at its root: the runs still go through
    codeagent's harness and report what really happened."""
    marks = tmp_path / "marks"
    marks.mkdir()
    files = {
        name + ".py": IMPOSTOR.format(name=name, marks=str(marks))
        for name in ("codeagent_forkserver", "codeagent_reaper", "sitecustomize", "pytest")
    }
    files["codeagent_probe.py"] = FAKE_PROBE.format(marks=str(marks))
    files["tests/test_it.py"] = "def test_fails():\n    assert 1 == 2\n"
    root = write_tree(tmp_path / "project", files)
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        report = runner.run()
        assert [(c.nodeid, c.outcome) for c in report.cases] == [
            ("tests/test_it.py::test_fails", "failed")
        ], report.output
        assert not report.green
        assert runner.run(["tests/test_it.py::test_fails"]).failures
    assert sorted(p.name for p in marks.iterdir()) == []
