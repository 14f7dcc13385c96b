"""``codeagent fix --json | head -1``: a reader that goes away ends the output quietly (no
traceback, no "Exception ignored" at exit), and the session still finishes as usual: the work
copy removed, the patch written, the usual exit code."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from codeagent.agent import events as ev
from codeagent.cli.headless import Reporter
from codeagent.testing.scripted import Step
from tests.test_fix_scripted import FIX


def test_a_closed_stdout_ends_the_output_not_the_session(
    repo: Path, tmp_path: Path, scripted: Any
) -> None:
    url, model = scripted(
        Step(call="read_file", arguments={"path": "calc/ops.py"}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    out = tmp_path / "fix.patch"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    process = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "fix", str(repo), "--headless", "--json",
         "--python", sys.executable, "--base-url", url, "--strategy", "tools",
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    first = json.loads(process.stdout.readline())
    process.stdout.close()  # `head -1` has what it wanted, and goes
    err = process.stderr.read().decode("utf-8", "replace")
    code = process.wait(120)
    assert first["event"] == "session_started"
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "BrokenPipeError" not in err
    assert code == 0, err
    assert model.played == 2  # the session went on after its reader left
    assert "fixed:" in err  # the progress lines went on too
    assert "+    return sum(values) / len(values)" in out.read_text()
    assert not Path(first["work_copy"]).exists()


class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_sink_that_fails_is_dropped_and_the_others_go_on(tmp_path: Path) -> None:
    progress, trajectory = io.StringIO(), tmp_path / "run.jsonl"
    reporter = Reporter(progress, _Closed(), trajectory)
    reporter(ev.Note("info", "one"))
    assert reporter.jsonl is None  # dropped at the first failure, not tried again
    reporter(ev.Note("info", "two"))
    reporter.close()
    assert progress.getvalue() == "info: one\ninfo: two\n"
    assert [json.loads(line)["message"] for line in trajectory.read_text().splitlines()] == [
        "one",
        "two",
    ]


def test_replay_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``codeagent replay FILE | head -1``: more than a pipe holds, and the reader gone."""
    trajectory = tmp_path / "run.jsonl"
    line = json.dumps(ev.event_to_json(ev.Note("info", "x" * 100)))
    trajectory.write_text((line + "\n") * 5000)  # 500 kB of progress lines
    process = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "replay", str(trajectory)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().startswith(b"info: xxx")
    process.stdout.close()
    err = process.stderr.read().decode("utf-8", "replace")
    assert process.wait(60) == 0, err
    assert err == ""
