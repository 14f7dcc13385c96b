"""``codeagent fix`` stopped by SIGTERM or Ctrl-C while a test hangs: it stops at once (not at
the test timeout), kills the run with everything it started, removes its temp folders and
leaves the user's repository as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from codeagent.testing.scripted import Step
from tests.conftest import git
from tests.test_sandbox import host_processes_with


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_stops_cleans_up_and_exits(
    repo: Path, scripted: Any, tmp_path: Path, signum: int
) -> None:
    marker = f"codeagent-interrupt-{uuid.uuid4().hex}"
    (repo / "tests" / "test_zz_hang.py").write_text(
        "import subprocess, sys, time\n\n\ndef test_hangs():\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', "
        f"{marker!r}])\n"
        "    time.sleep(120)\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a test that hangs")
    temp = tmp_path / "temp"
    temp.mkdir()
    url, _ = scripted(Step(say="thinking"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    env.update(TMPDIR=str(temp), XDG_CACHE_HOME=str(tmp_path / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "fix", str(repo), "--headless", "--json",
         "--python", sys.executable, "--base-url", url, "--test-timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not host_processes_with(marker) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        assert host_processes_with(marker), "the hanging test never started"
        began = time.monotonic()
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - began < 15  # not the 120 s test timeout
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"codeagent: {signal.Signals(signum).name}")
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert events[0]["event"] == "session_started"
    time.sleep(0.5)
    assert host_processes_with(marker) == []
    assert sorted(p.name for p in temp.iterdir()) == []  # every temp folder removed
    assert git(repo, "status", "--porcelain") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1
