"""``codeagent fix`` against a scripted model over a real local connection: the paths a small
model rarely takes. Each test runs the real command as a process on a real git repository (a
copy of ``sample_repos/calc``) and checks the exit code, the events and the user's tree."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codeagent.errors import ConfigError
from codeagent.server.config import ServerConfig
from codeagent.server.run import BackgroundServer
from codeagent.testing.scripted import ScriptedBackend, Step, read_script
from tests.conftest import git, start_serve

FIX = """--- a/calc/ops.py
+++ b/calc/ops.py
@@ -19,3 +19,3 @@
     if not values:
         raise ValueError("mean of nothing")
-    return sum(values) / (len(values) - 1)
+    return sum(values) / len(values)
"""
EDITS_TEST = """--- a/tests/test_ops.py
+++ b/tests/test_ops.py
@@ -16,2 +16,2 @@
 def test_mean() -> None:
-    assert mean([1.0, 2.0, 3.0]) == 2.0
+    assert mean([1.0, 2.0, 3.0]) == 3.0
"""


def fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def fix(
    repo: Path, base_url: str, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    """``codeagent fix`` as a process, headless with JSON events: exit code, events, stderr.
    ``env``: variables added to the (codeagent- and OpenAI-free) environment."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))},
        "XDG_CACHE_HOME": str(repo.parent / "cache"),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "fix", str(repo), "--headless", "--json",
         "--python", sys.executable, "--base-url", base_url, *flags],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, events, done.stderr


def of_kind(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def test_the_tools_strategy_end_to_end(repo: Path, scripted: Any, tmp_path: Path) -> None:
    before = fingerprint(repo)
    url, model = scripted(
        Step(call="read_file", arguments={"path": "calc/ops.py"}),
        Step(call="apply_patch", arguments={"patch": FIX}, expect="def mean"),
    )
    out = tmp_path / "fix.patch"
    code, events, err = fix(repo, url, "--strategy", "tools", "--output", str(out))
    assert code == 0, err
    finished = of_kind(events, "finished")[-1]
    assert finished["outcome"] == "fixed"
    assert "-    return sum(values) / (len(values) - 1)" in out.read_text()
    assert "tests/" not in out.read_text()
    assert fingerprint(repo) == before  # the user's tree is untouched
    assert [e["name"] for e in of_kind(events, "tool_called")] == ["read_file", "apply_patch"]
    # One connection: the context went once, later turns only carried new items.
    turns = [e["stats"] for e in of_kind(events, "turn_finished")]
    assert sum(t["handshakes"] for t in turns) == 1
    assert all(t["chained"] for t in turns[1:])
    assert model.played == 2


def test_a_malformed_patch_and_a_test_edit_go_back_to_the_model(repo: Path, scripted: Any) -> None:
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": "this is not a diff"}),
        Step(call="apply_patch", arguments={"patch": EDITS_TEST}, expect="error"),
        Step(call="apply_patch", arguments={"patch": FIX}, expect="is a test file"),
    )
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    calls = of_kind(events, "tool_called")
    assert [c["ok"] for c in calls] == [False, False, True]
    assert "is a test file" in calls[1]["summary"]
    assert "tests/test_ops.py" not in of_kind(events, "finished")[-1]["patch"]


def test_a_budget_that_runs_out_exits_1(repo: Path, scripted: Any) -> None:
    url, _ = scripted(Step(say="I am thinking."), Step(say="Still thinking."))
    code, events, err = fix(repo, url, "--strategy", "tools", "--max-turns", "3")
    finished = of_kind(events, "finished")[-1]
    assert code == 1, err
    assert finished["outcome"] == "not_fixed"
    assert "budget exceeded: 3 of 3 turns" in finished["reason"]
    assert "budget exceeded" in err


def test_the_server_dying_mid_run_exits_3_and_leaves_the_tree(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"call": "read_file", "arguments": {"path": "calc/ops.py"}},
                                  {"crash": True}]))  # fmt: skip
    server = start_serve("--backend", "scripted", "--script", str(script))
    before = fingerprint(repo)
    try:
        code, events, err = fix(repo, server.base_url, "--strategy", "tools")
    finally:
        server.process.kill()
        server.process.wait(10)
    assert code == 3, err
    assert of_kind(events, "finished")[-1]["outcome"] == "error"
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error:")
    assert fingerprint(repo) == before


def test_tests_that_cannot_run_exit_4(repo: Path, scripted: Any) -> None:
    (repo / "tests" / "conftest.py").write_text("import no_such_module_anywhere\n")
    url, model = scripted()
    code, events, err = fix(repo, url)
    assert code == 4, err
    assert of_kind(events, "finished")[-1]["outcome"] == "error"
    assert "could not run" in err
    assert model.played == 0  # the model was never asked


def test_nothing_failing_exits_0_at_once(repo: Path, scripted: Any) -> None:
    ops = repo / "calc" / "ops.py"
    ops.write_text(ops.read_text().replace("(len(values) - 1)", "len(values)"))
    url, model = scripted()
    code, events, err = fix(repo, url)
    assert code == 0, err
    assert of_kind(events, "finished")[-1]["outcome"] == "nothing_to_fix"
    assert model.played == 0


def test_apply_commits_on_a_branch_and_refuses_a_dirty_file(repo: Path, scripted: Any) -> None:
    url, _ = scripted(Step(call="apply_patch", arguments={"patch": FIX}))
    code, _, err = fix(repo, url, "--strategy", "tools", "--apply")
    assert code == 0, err
    branch = git(repo, "branch", "--show-current").strip()
    assert branch.startswith("codeagent/fix-")
    assert "len(values)\n" in (repo / "calc" / "ops.py").read_text()
    assert git(repo, "status", "--porcelain") == ""
    # Back on the buggy commit, with an uncommitted change in the file the fix touches.
    git(repo, "checkout", "-q", "HEAD~1")
    ops = repo / "calc" / "ops.py"
    ops.write_text(ops.read_text() + "\n# a note of mine\n")
    dirty = fingerprint(repo)
    url, _ = scripted(Step(call="apply_patch", arguments={"patch": FIX}))
    code, _, err = fix(repo, url, "--strategy", "tools", "--apply")
    assert code == 2
    assert "calc/ops.py" in err
    assert "uncommitted" in err
    assert fingerprint(repo) == dirty  # refused: nothing changed, the patch is saved
    assert "patch:" in err


def test_a_full_context_window_starts_a_fresh_chain_on_the_same_connection(
    repo: Path, scripted: Any
) -> None:
    url, model = scripted(
        Step(context_full=True),
        Step(say="return sum(values) / len(values)"),
        Step(say="1", expect="Reply with the number"),  # two equal fixes: the model rates
    )
    code, events, err = fix(repo, url, "--strategy", "guided")
    assert code == 0, err
    notes = [e["message"] for e in of_kind(events, "note")]
    assert any("context is full" in n for n in notes)
    turns = [e["stats"] for e in of_kind(events, "turn_finished")]
    assert sum(t["handshakes"] for t in turns) == 1
    assert [t["generate"] for t in turns][:2] == [False, False]  # warmed up twice
    assert model.played == 3
    assert of_kind(events, "fix_found")[0]["description"].startswith("line 20: `return")


def test_the_connection_is_served_while_slow_tests_run(repo: Path) -> None:
    """Test runs happen off the event loop: the server's keepalive pings are answered while a
    suite runs, so a suite slower than the ping timeout does not cost the connection."""
    (repo / "tests" / "test_slow.py").write_text("import time\n\n\ndef test_slow():\n"
                                                 "    time.sleep(1.5)\n")  # fmt: skip
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a slow test")
    steps = [Step(call="run_tests"), Step(call="apply_patch", arguments={"patch": FIX})]
    backend = ScriptedBackend(steps)
    config = ServerConfig(port=0, ping_interval=0.2, ping_timeout=0.4)
    with BackgroundServer(backend, config) as server:
        code, events, err = fix(repo, server.base_url, "--strategy", "tools")
    assert code == 0, err
    turns = [e["stats"] for e in of_kind(events, "turn_finished")]
    assert sum(t["handshakes"] for t in turns) == 1
    assert not any(t["retried"] for t in turns)
    assert not of_kind(events, "note")  # nothing to recover from
    assert backend.played == 2


def test_a_stalled_model_is_reported_and_the_fix_goes_on(repo: Path, scripted: Any) -> None:
    """The server goes silent mid-turn: past the idle timeout the client reconnects and resends
    the whole conversation; the session says so in a note and finishes the fix."""
    url, model = scripted(
        Step(call="apply_patch", arguments={"patch": FIX}, stall=30.0),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    code, events, err = fix(repo, url, "--strategy", "tools", "--idle-timeout", "0.5")
    assert code == 0, err
    notes = [n["message"] for n in of_kind(events, "note")]
    assert any("stalled" in n and "resent" in n for n in notes), notes
    turns = [e["stats"] for e in of_kind(events, "turn_finished")]
    assert sum(t["handshakes"] for t in turns) == 2
    assert model.played == 2


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ('{"say": "hi"}', "must be a JSON array"),
        ('[{"say": "hi", "call": "run_tests"}]', "exactly one of"),
        ('[{"say": "hi", "stall": "long"}]', "stall must be seconds"),
        ('[{"say": "hi", "stall": -1}]', "stall must be seconds"),
        ("[", "cannot read the script"),
    ],
)
def test_a_bad_script_is_a_clear_error(tmp_path: Path, script: str, message: str) -> None:
    path = tmp_path / "script.json"
    path.write_text(script)
    with pytest.raises(ConfigError, match=message):
        read_script(path)


def test_tool_arguments_of_the_wrong_kind_go_back_to_the_model(repo: Path, scripted: Any) -> None:
    """Arguments are checked against the tool's schema: a wrong one is the model's error to
    correct, never the session's end ("internal error")."""
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": 123}),
        Step(call="read_file", arguments={"path": "calc/ops.py", "start": "one"}),
        Step(call="search_code", arguments={"symbol": "mean", "kind": "everything"}),
        Step(call="run_tests", arguments={"all": True, "verbose": True}),
        Step(call="x[/i]", arguments={}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    summaries = [c["summary"] for c in of_kind(events, "tool_called")]
    assert summaries[:5] == [
        "error: apply_patch: 'patch' must be a string, not an integer",
        "error: read_file: 'start' must be an integer, not a string",
        "error: search_code: 'kind' must be one of definition, source, callers",
        "error: run_tests: unknown argument 'verbose' (arguments: all)",
        "error: no tool named 'x[/i]'",
    ]
