"""Bytes that are not UTF-8 (in a project's folder name, in a file a fix changes) reach the
output as lone surrogates (``surrogateescape``). No event, JSON line, trajectory line, progress
line or step summary may fail on them: they are written as U+FFFD; the patch file keeps the
exact bytes."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.agent import events as ev
from codeagent.agent.events import event_to_json
from codeagent.cli.eval_command import _row
from codeagent.cli.fix_run import _outputs
from codeagent.cli.headless import Reporter, progress_line, step_summary
from codeagent.testing.scripted import Step
from tests.conftest import SAMPLE, git
from tests.test_fix_scripted import FIX, of_kind

CAFE = os.fsdecode(b"caf\xe9")  # "caf\udce9": how Python reads the bytes of a latin-1 name
PATCH = f"--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-{CAFE}\n+{CAFE} au lait\n"


def started(repo: str) -> ev.SessionStarted:
    return ev.SessionStarted(repo, f"{repo}/work", "tools", "m", "http://h/v1", "/py", "pytest")


def finished(patch: str) -> ev.Finished:
    return ev.Finished("fixed", 0, f"fixed {CAFE}", patch, 1, 1.0, 1, 10, 20, 5, 2, 1)


def utf8_stream() -> io.TextIOWrapper:
    """What stdout is with a UTF-8 locale: a strict UTF-8 text stream."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)


def written(stream: io.TextIOWrapper) -> str:
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8")  # strict: it must be UTF-8


def test_the_reporter_writes_every_line_as_utf8(tmp_path: Path) -> None:
    progress, jsonl, trajectory = utf8_stream(), utf8_stream(), tmp_path / "run.jsonl"
    reporter = Reporter(progress, jsonl, trajectory, verbose=True)
    repo = f"/src/{CAFE}"
    for event in (
        started(repo),
        ev.ToolCalled(f"read_{CAFE}", json.dumps({"path": CAFE}), True, f"read {CAFE}"),
        ev.ModelText(1, f"the file {CAFE}"),
        ev.Note("warning", f"ignored 'base_url' from the project config {repo}/.codeagent.toml"),
        finished(PATCH),
    ):
        reporter(event)
    reporter.close()
    for text in (written(jsonl), trajectory.read_text(encoding="utf-8")):
        lines = [json.loads(line) for line in text.splitlines()]
        assert [e["event"] for e in lines] == [
            "session_started", "tool_called", "model_text", "note", "finished"
        ]  # fmt: skip
        assert lines[0]["repo"] == "/src/caf\ufffd"
        assert lines[-1]["patch"] == PATCH.replace(CAFE, "caf\ufffd")
    shown = written(progress)
    assert "fixing /src/caf\ufffd" in shown
    assert "tool read_caf\ufffd" in shown
    # The events kept are the originals: the patch applied or saved from them is exact.
    assert reporter.events[-1] == finished(PATCH)


def test_replayed_lines_and_the_step_summary_are_printable() -> None:
    sources = {"max_turns": f"project config /src/{CAFE}/.codeagent.toml"}
    event = ev.SessionStarted(
        f"/src/{CAFE}", "/w", "tools", "m", "p", "/py", "pytest", sources=sources
    )
    assert event_to_json(event)["sources"] == {
        "max_turns": "project config /src/caf\ufffd/.codeagent.toml"
    }
    line = progress_line(event, {})
    assert line is not None
    line.encode("utf-8")  # a lone surrogate would raise here
    assert "max_turns from project config /src/caf\ufffd/.codeagent.toml" in line
    summary = step_summary(finished(PATCH), f"/src/{CAFE}", f"/tmp/{CAFE}.patch")
    summary.encode("utf-8")
    assert "caf\ufffd au lait" in summary


def test_an_eval_row_is_printable(tmp_path: Path) -> None:
    row = {"outcome": "error", "reason": f"cannot copy {CAFE}", "wall": 1.0}
    assert _row(tmp_path / CAFE, row).startswith("| caf\ufffd | error: cannot copy caf\ufffd |")


def test_the_patch_file_keeps_the_exact_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "fix.patch"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = argparse.Namespace(output=str(out), apply=False, no_commit=False)
    project = tmp_path / CAFE
    assert _outputs(args, project, finished(PATCH)) == 0
    assert out.read_bytes() == PATCH.encode("utf-8", "surrogateescape")
    assert b"\n-caf\xe9\n+caf\xe9 au lait\n" in out.read_bytes()
    assert "caf\ufffd au lait" in summary.read_text(encoding="utf-8")


def fix_calc_copy(
    root: Path, scripted: object, tmp_path: Path, test_log: str = ""
) -> tuple[subprocess.CompletedProcess[bytes], Path, Path]:
    """``codeagent fix`` (the scripted model applies ``FIX``) on a copy of the sample at
    ``root`` (plus ``tests/test_log.py`` if given), with ``--output`` and ``--trajectory``: the
    finished process (bytes out), the patch file and the trajectory. Checks no traceback."""
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    if test_log:
        (root / "tests" / "test_log.py").write_text(test_log)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    url, _ = scripted(Step(call="apply_patch", arguments={"patch": FIX}))  # type: ignore[operator]
    out, trajectory = tmp_path / "fix.patch", tmp_path / "run.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "fix", root, "--headless", "--json",
         "--python", sys.executable, "--base-url", url, "--strategy", "tools",
         "--output", out, "--trajectory", trajectory],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    assert done.returncode == 0, err
    return done, out, trajectory


@pytest.mark.parametrize("folder", [b"calc", b"caf\xe9-calc"])
def test_fix_in_a_folder_whose_name_is_not_utf8(
    tmp_path: Path, scripted: object, folder: bytes
) -> None:
    """A project in ``caf\\xe9-calc/`` (a name that is not UTF-8; ``calc/`` to compare): fixed,
    exit 0, no traceback; the JSON lines and the trajectory are UTF-8, the patch file written."""
    root = Path(os.fsdecode(bytes(tmp_path) + b"/" + folder))
    done, out, trajectory = fix_calc_copy(root, scripted, tmp_path)
    events = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert of_kind(events, "session_started")[0]["repo"].endswith(
        "/" + folder.decode("utf-8", "replace")
    )
    assert of_kind(events, "finished")[-1]["outcome"] == "fixed"
    assert trajectory.read_text(encoding="utf-8").count("\n") == len(events)
    assert b"+    return sum(values) / len(values)\n" in out.read_bytes()


def test_a_test_that_writes_bytes_that_are_not_utf8_into_the_project(
    tmp_path: Path, scripted: object
) -> None:
    """The tests leave a file of latin-1 bytes in the project each run (it used to reach the
    patch: a traceback, an empty patch file, exit 1; exit 3 with ``--trajectory``). Now the
    by-product is removed after each run, and the patch is the fix alone."""
    log = "def test_log():\n    open('run.log', 'ab').write(b'caf\\xe9\\n')\n"
    _, out, trajectory = fix_calc_copy(tmp_path / "calc", scripted, tmp_path, log)
    patch = out.read_bytes()
    assert b"+    return sum(values) / len(values)\n" in patch
    assert b"run.log" not in patch
    lines = trajectory.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["patch"] == patch.decode("utf-8")
