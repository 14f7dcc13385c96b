"""The sandbox test runs happen in (bubblewrap), and codeagent's own process guard: what a run
can and cannot reach, timeouts and aborts inside it, the secrets a process lets go of."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from codeagent import errors
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.sandbox import Sandbox, find_sandbox
from tests.test_test_runner import write_tree

PYTHON = sys.executable
SANDBOX = find_sandbox()
needs_sandbox = pytest.mark.skipif(not SANDBOX.active, reason=f"no sandbox here: {SANDBOX.note}")


def host_processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


def test_the_wrapped_command_line_confines_what_it_should() -> None:
    sandbox = Sandbox("bubblewrap", "", "/usr/bin/bwrap", ("/home/me/.ssh",))
    argv = sandbox.wrap(["python", "-V"], writable=[Path("/work/copy")], cwd=Path("/work/copy"))
    text = " ".join(argv)
    for part in ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop ALL",
                 "--ro-bind / /", "--proc /proc", "--bind /work/copy /work/copy",
                 "--setenv TMPDIR /tmp", "--chdir /work/copy -- python -V"):  # fmt: skip
        assert part in text, part
    assert Sandbox("none", "off").wrap(["python"], writable=[], cwd=Path("/")) == ["python"]


@needs_sandbox
@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_a_run_in_the_sandbox_writes_only_its_copy_and_sees_no_network_or_parent(
    tmp_path: Path, fork: bool
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = write_tree(
        tmp_path / "project",
        {
            "tests/test_reach.py": f"""\
                import os, socket


                def test_writes_inside():
                    open("made-here.txt", "w").close()


                def test_cannot_write_outside():
                    try:
                        open({str(outside / "x")!r}, "w").close()
                    except OSError:
                        return
                    raise AssertionError("wrote outside the copy")


                def test_has_no_network():
                    try:
                        socket.create_connection(("1.1.1.1", 53), timeout=1).close()
                    except OSError:
                        return
                    raise AssertionError("reached the network")


                def test_cannot_see_the_parent():
                    assert not os.path.exists("/proc/{os.getpid()}/environ") or {os.getpid()} < 10


                def test_tmp_is_private():
                    assert os.environ["TMPDIR"] == "/tmp"
            """
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork, sandbox=SANDBOX) as runner:
        report = runner.run()
    assert report.green, report.output
    assert (root / "made-here.txt").exists()
    assert list(outside.iterdir()) == []


@needs_sandbox
@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_a_hanging_run_in_the_sandbox_dies_whole_at_the_timeout(tmp_path: Path, fork: bool) -> None:
    marker = f"codeagent-hang-{uuid.uuid4().hex}"
    root = write_tree(
        tmp_path / "project",
        {
            "tests/test_hang.py": f"""\
                import subprocess, sys, time


                def test_quick():
                    pass


                def test_hangs():
                    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                      {marker!r}], start_new_session=True)
                    time.sleep(60)
            """
        },
    )
    with PytestRunner(root, python=PYTHON, fork=fork, sandbox=SANDBOX) as runner:
        began = time.monotonic()
        report = runner.run(timeout=3)
        assert time.monotonic() - began < 20
        assert report.timed_out
        assert [(c.nodeid, c.outcome) for c in report.cases] == [
            ("tests/test_hang.py::test_quick", "passed"),
            ("tests/test_hang.py::test_hangs", "failed"),
        ]
        time.sleep(0.5)
        assert host_processes_with(marker) == []
        assert runner.run(["tests/test_hang.py::test_quick"]).green  # still usable


@pytest.mark.parametrize(
    "sandbox",
    [pytest.param(SANDBOX, marks=needs_sandbox, id="sandbox"), pytest.param(None, id="plain")],
)
@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_abort_stops_the_run_in_progress_at_once(
    tmp_path: Path, fork: bool, sandbox: Sandbox | None
) -> None:
    """An interrupted session must not wait for a test to end (up to the test timeout)."""
    marker = f"codeagent-abort-{uuid.uuid4().hex}"
    root = write_tree(
        tmp_path / "project",
        {
            "tests/test_slow.py": f"""\
                import subprocess, sys, time


                def test_slow():
                    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                      {marker!r}])
                    time.sleep(60)
            """
        },
    )
    caught: list[BaseException] = []
    with PytestRunner(root, python=PYTHON, fork=fork, sandbox=sandbox, timeout=120) as runner:

        def work() -> None:
            try:
                runner.run()
            except errors.TestRunError as exc:
                caught.append(exc)

        thread = threading.Thread(target=work)
        thread.start()
        deadline = time.monotonic() + 30
        while not host_processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host_processes_with(marker), "the test never started"
        began = time.monotonic()
        runner.abort()
        thread.join(15)
        assert not thread.is_alive()
        assert time.monotonic() - began < 12
        assert [str(e) for e in caught] == ["the test runs were stopped"]
        with pytest.raises(errors.TestRunError, match="stopped"):
            runner.run()
    time.sleep(0.5)
    assert host_processes_with(marker) == []


def test_a_guarded_process_lets_go_of_its_secrets() -> None:
    """``guard_process`` in a process started with secrets: its children inherit none, and
    its ``/proc/PID/environ`` no longer shows their values."""
    code = textwrap.dedent("""\
        import os, subprocess, sys
        from codeagent.tools.process_guard import guard_process
        removed = guard_process()
        child = subprocess.run(
            [sys.executable, "-c",
             "import os; print(sorted(k for k in os.environ if 'CANARY' in k))"],
            capture_output=True, text=True, check=True)
        environ = open(f"/proc/{os.getpid()}/environ", "rb").read()
        print(removed)
        print(child.stdout.strip())
        print(b"canary-value" in environ)
        print(os.environ.get("KEEP_ME"))
    """)
    env = {
        **os.environ,
        "OPENAI_API_KEY": "canary-value",
        "CANARY_TOKEN": "canary-value",
        "CANARY_SECRET_THING": "canary-value",
        "KEEP_ME": "yes",
    }
    done = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    removed, inherited, visible, kept = done.stdout.splitlines()
    assert {"OPENAI_API_KEY", "CANARY_TOKEN", "CANARY_SECRET_THING"} <= set(eval(removed))
    assert inherited == "[]"
    assert visible == "False"
    assert kept == "yes"
