"""Faults of the test command: a test that hangs, floods its output, prints bytes that are not
UTF-8, or leaves a process behind. The run ends within its timeout, nothing it started
survives it, memory stays bounded, and ``codeagent fix`` goes on or exits 4 with one clear line,
the user's tree untouched.

Each fault is met by the runner itself (the fork server and a plain ``python -m pytest`` where
their paths differ), then by the real ``codeagent fix`` command against a scripted model.
Processes a test starts write their pids to a file; "gone" asks the kernel.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeagent.testing.scripted import Step
from codeagent.tools.pytest_runner import PytestRunner
from tests.conftest import SAMPLE, git
from tests.test_fix_scripted import fingerprint, fix, of_kind
from tests.test_test_runner import MODES, PYTHON, gone, write_tree

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")

MB = 1 << 20
IGNORES_TERM = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')\n"
    "time.sleep(3600)\n"
)
"""A process that ignores SIGTERM, then appends its pid to the file ``argv[1]``."""


def spawn_and_wait(kind: str, pids: Path) -> str:
    """Python lines (for a test body) that leave a process behind and wait until it wrote
    its pid to ``pids``: ``group`` stays in the run's process group, ``session`` starts a
    session of its own, ``daemon`` detaches the classic way (fork, setsid, fork; its parent
    exits at once, so it is nobody's child)."""
    argv = f"[sys.executable, '-c', {IGNORES_TERM!r}, {str(pids)!r}]"
    if kind == "group":
        spawn = f"subprocess.Popen({argv})"
    elif kind == "session":
        spawn = f"subprocess.Popen({argv}, start_new_session=True)"
    else:
        spawn = textwrap.dedent(
            f"""\
            middle = os.fork()
            if middle == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, {argv})
                os._exit(0)
            os.waitpid(middle, 0)"""
        )
    return textwrap.dedent(
        f"""\
        import os, subprocess, sys, time
        open({str(pids)!r}, "a").close()
        known = open({str(pids)!r}).read().count("\\n")
        {textwrap.indent(spawn, " " * 8).lstrip()}
        while open({str(pids)!r}).read().count("\\n") <= known:
            time.sleep(0.01)"""
    )


def one_test(name: str, lines: str, *, then: str = "") -> str:
    """A test module with one test ``name`` running ``lines`` (and ``then``)."""
    body = textwrap.indent(lines + ("\n" + then if then else ""), "    ")
    return f"def {name}():\n{body}\n"


def pids_in(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()] if path.exists() else []


@pytest.fixture
def pids(tmp_path: Path) -> Iterator[Path]:
    """The file the tests' processes write their pids to. Whatever a failed test leaves is
    killed afterwards (only processes whose command line names this file)."""
    path = tmp_path / "pids"
    yield path
    for pid in pids_in(path):
        try:
            if str(path) in Path(f"/proc/{pid}/cmdline").read_text():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# -- the runner -------------------------------------------------------------------------------


@pytest.mark.parametrize("fork", MODES)
def test_a_hanging_run_is_killed_with_every_process_its_tests_started(
    tmp_path: Path, pids: Path, fork: bool
) -> None:
    kinds = ("group", "session", "daemon")
    tests = {
        f"tests/test_{kind}.py": one_test("test_leaves", spawn_and_wait(kind, pids))
        for kind in kinds
    }
    # Last, a test that hangs, after starting a child that ignores SIGTERM.
    hang = one_test("test_hangs", spawn_and_wait("group", pids), then="time.sleep(3600)")
    tests["tests/test_zz_hang.py"] = hang
    root = write_tree(tmp_path / "project", tests)
    with PytestRunner(root, python=PYTHON, fork=fork) as runner:
        began = time.monotonic()
        report = runner.run(timeout=2.5)
        assert time.monotonic() - began < 15
        assert report.timed_out
        assert not report.green
        assert [(c.nodeid, c.outcome) for c in report.cases] == [
            *((f"tests/test_{kind}.py::test_leaves", "passed") for kind in sorted(kinds)),
            ("tests/test_zz_hang.py::test_hangs", "failed"),  # running when it was killed
        ]
        started = pids_in(pids)
        assert len(started) == len(kinds) + 1
        assert [pid for pid in started if not gone(pid)] == []
        # A run that ends by itself: what left the group is killed all the same.
        began = time.monotonic()
        report = runner.run([f"tests/test_{kind}.py::test_leaves" for kind in kinds])
        assert report.green, report.output
        assert time.monotonic() - began < 10  # no process held the run open
        started = pids_in(pids)[len(started) :]
        assert len(started) == len(kinds)
        assert [pid for pid in started if not gone(pid)] == []


MEASURE = """\
import json, resource, sys
from pathlib import Path
from codeagent.tools.pytest_runner import PytestRunner


def peak() -> int:
    status = Path("/proc/self/status")
    if status.exists():
        line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


found = []
for fork, test in ((True, "test_stdout"), (False, "test_stderr")):
    with PytestRunner(Path(sys.argv[1]), python=sys.executable, args=["-s"], fork=fork) as runner:
        runner.run(["tests/test_loud.py::test_quiet"])  # the fork server (if any) is up
        before = peak()
        report = runner.run(["tests/test_loud.py::test_quiet", f"tests/test_loud.py::{test}"])
        found.append({
            "growth": peak() - before,
            "output": report.output,
            "cases": [[c.nodeid, c.outcome, c.message] for c in report.cases],
            "timed_out": report.timed_out,
        })
print(json.dumps(found))
"""


def test_a_test_printing_100_mb_keeps_memory_bounded(tmp_path: Path) -> None:
    loud = """\
        import sys


        def test_quiet():
            pass


        def loud(stream):
            line = "z" * 1023 + "\\n"
            for _ in range(100):
                stream.write(line * 1024)
            assert 1 + 1 == 3, "loud and wrong"


        def test_stdout():
            loud(sys.stdout)


        def test_stderr():
            loud(sys.stderr)
    """
    root = write_tree(tmp_path / "project", {"tests/test_loud.py": loud})
    done = subprocess.run(
        [PYTHON, "-c", MEASURE, str(root)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for run, stream in zip(json.loads(done.stdout), ("stdout", "stderr"), strict=True):
        # The fork server's run, then a plain one; each kept a bounded head and tail.
        assert run["growth"] < 64 * MB, f"peak RSS grew by {run['growth'] / MB:.1f} MB"
        assert not run["timed_out"]
        outcomes = {nodeid: (outcome, message) for nodeid, outcome, message in run["cases"]}
        outcome, message = outcomes[f"tests/test_loud.py::test_{stream}"]
        assert outcome == "failed"
        assert "loud and wrong" in message
        output: str = run["output"]
        assert len(output) < 2 * MB
        assert "bytes of output cut" in output
        assert "1 failed, 1 passed" in output[-500:]


def test_bytes_that_are_not_utf8_become_replacement_characters(tmp_path: Path) -> None:
    # Through a plain run here; ``codeagent fix`` meets such bytes through the fork server below.
    root = write_tree(
        tmp_path / "project",
        {
            "tests/test_bytes.py": """\
                import os, sys


                def test_bytes():
                    os.write(1, b"out \\xff\\xfe\\x80 out\\n")
                    os.write(2, b"err \\xed\\xb3\\xbf err\\n")  # a lone surrogate, as UTF-8
                    sys.stdout.buffer.write(b"half \\xe2\\x82")
                    assert False, "bad \\udcff " + b"\\xff\\xfe\\x80".decode("latin-1")
            """
        },
    )
    with PytestRunner(root, python=PYTHON, args=["-s"], fork=False) as runner:
        report = runner.run()
    (case,) = report.cases
    assert case.outcome == "failed"
    assert "out \ufffd\ufffd\ufffd out" in report.output
    assert "err \ufffd" in report.output
    # The message survives, with a replacement for what no UTF-8 text can hold.
    assert case.message.startswith("AssertionError: bad \ufffd \xff\xfe\x80"), case.message
    for text in (case.message, case.nodeid, report.output):
        text.encode("utf-8")  # no lone surrogate left to break a JSON line or a frame


# -- codeagent fix ----------------------------------------------------------------------------


@pytest.fixture
def calc(tmp_path: Path) -> Any:
    """A factory: the sample repo with ``files`` written over it and a test timeout, committed."""

    def make(files: dict[str, str], *, test_timeout: float = 60.0) -> Path:
        root = tmp_path / "calc"
        shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
        for name, text in files.items():
            (root / name).write_text(text)
        (root / ".codeagent.toml").write_text(f"[fix]\ntest_timeout = {test_timeout}\n")
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "calc")
        return root

    return make


OPS = (SAMPLE / "calc" / "ops.py").read_text()
UNCONFINED = ("--sandbox", "off")
"""These tests follow the processes a run leaves through pid files outside the work copy, which
a sandboxed run can neither write nor name on the host: they check the reaper and the timeouts
as they work without a sandbox (``test_sandbox.py`` checks them inside one)."""
BUGGY = "    return sum(values) / (len(values) - 1)\n"
FIXED = OPS.replace(BUGGY, "    return sum(values) / len(values)\n")


def hanging(pids: Path) -> str:
    """``calc/ops.py`` whose ``mean`` leaves a child that ignores SIGTERM, then hangs."""
    lines = spawn_and_wait("group", pids) + "\ntime.sleep(3600)\n"
    return OPS.replace(BUGGY, textwrap.indent(lines, "    ") + BUGGY)


def diff(path: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
    )


def test_fix_exits_4_when_the_first_run_hangs(calc: Any, scripted: Any, pids: Path) -> None:
    repo = calc({"calc/ops.py": hanging(pids)}, test_timeout=2)
    before = fingerprint(repo)
    url, model = scripted()
    started = time.monotonic()
    code, events, err = fix(repo, url, *UNCONFINED)
    assert time.monotonic() - started < 30
    assert code == 4, err
    (last,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert last.startswith("error: TestRunError: the tests timed out after 2 s")
    assert "Traceback" not in err
    assert [r["timed_out"] for r in of_kind(events, "tests_run")] == [True]
    assert model.played == 0
    assert pids_in(pids)
    assert all(gone(pid) for pid in pids_in(pids))
    assert fingerprint(repo) == before


def test_fix_goes_on_past_a_candidate_that_hangs(calc: Any, scripted: Any, pids: Path) -> None:
    repo = calc({}, test_timeout=3)
    before = fingerprint(repo)
    url, model = scripted(
        Step(call="apply_patch", arguments={"patch": diff("calc/ops.py", OPS, hanging(pids))}),
        Step(call="apply_patch", arguments={"patch": diff("calc/ops.py", hanging(pids), FIXED)}),
    )
    code, events, err = fix(repo, url, "--strategy", "tools", *UNCONFINED)
    assert code == 0, err
    runs = of_kind(events, "tests_run")
    assert [(r["purpose"], r["timed_out"]) for r in runs] == [
        ("initial", False),
        ("rerun", False),
        ("tool", True),
        ("tool", False),
    ]
    assert of_kind(events, "finished")[-1]["outcome"] == "fixed"
    assert model.played == 2
    assert pids_in(pids)
    assert all(gone(pid) for pid in pids_in(pids))
    assert fingerprint(repo) == before


def test_fix_of_a_noisy_test_that_leaves_a_daemon(calc: Any, scripted: Any, pids: Path) -> None:
    noisy = one_test(
        "test_mean_noisily",
        spawn_and_wait("daemon", pids)
        + textwrap.dedent(
            """
            from calc.ops import mean
            line = "n" * 1023 + "\\n"
            for _ in range(100):
                sys.stdout.write(line * 1024)
            os.write(2, b"raw \\xff\\xfe\\x80 bytes\\n")"""
        ),
        then='assert mean([1.0, 2.0, 3.0]) == 2.0, "mean is off \\udcff"',
    )
    repo = calc({"tests/test_noisy.py": noisy})
    before = fingerprint(repo)
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff("calc/ops.py", OPS, FIXED)})
    )
    code, events, err = fix(repo, url, "--strategy", "tools", *UNCONFINED)
    assert code == 0, err
    assert "Traceback" not in err
    assert "UnicodeDecodeError" not in err
    first = of_kind(events, "tests_run")[0]
    assert "tests/test_noisy.py::test_mean_noisily" in first["failing"]
    assert "mean is off \ufffd" in first["message"]
    assert of_kind(events, "finished")[-1]["outcome"] == "fixed"
    # one daemon per run: the first, its re-run (is the failure flaky?), and the fix's
    assert len(pids_in(pids)) == 3
    assert all(gone(pid) for pid in pids_in(pids))
    assert fingerprint(repo) == before
