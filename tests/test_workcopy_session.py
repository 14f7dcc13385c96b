"""``codeagent fix`` end to end on repositories that attack or litter the work copy: the real
command as a process, a scripted model behind a real local server, a real git repository (a
copy of ``sample_repos/calc``, from conftest's ``repo`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeagent.testing.scripted import Step
from tests.conftest import git
from tests.test_fix_scripted import FIX, fix

SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")
"""For the test's own look at a booby-trapped repository."""


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    return [e for e in events if e["event"] == "finished"][-1]


def changed_by_head(repo: Path) -> str:
    return git(repo, *SAFE, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD")


def test_fix_runs_nothing_the_repository_configures(
    repo: Path, scripted: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    script = tmp_path / "trap.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat\n')
    script.chmod(0o755)
    hooks = repo / ".git" / "hooks"
    for hook in ("pre-commit", "post-checkout", "post-commit", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f"[core]\n\tfsmonitor = {script}\n[diff]\n\texternal = {script}\n"
            f'[filter "trap"]\n\tclean = {script}\n\tsmudge = {script}\n'
            f'[diff "trap"]\n\ttextconv = {script}\n'
        )
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=trap diff=trap\n")
    url, _ = scripted(
        Step(call="read_file", arguments={"path": "calc/ops.py"}),
        Step(call="apply_patch", arguments={"patch": FIX}, expect="def mean"),
    )
    code, events, err = fix(repo, url, "--strategy", "tools", "--apply")
    assert code == 0, err
    assert finished(events)["outcome"] == "fixed"
    assert not marker.exists(), marker.read_text()
    assert changed_by_head(repo) == "calc/ops.py\n"
    assert "len(values)\n" in (repo / "calc" / "ops.py").read_text()


def test_by_products_of_the_tests_stay_out_of_the_patch_and_the_commit(
    repo: Path, scripted: Any
) -> None:
    (repo / "tests" / "test_litter.py").write_text(
        "import pathlib, subprocess\n\n"
        "HERE = pathlib.Path(__file__).resolve().parent.parent\n\n\n"
        "def test_leaves_things_behind():\n"
        "    (HERE / 'last_run.txt').write_text('ran\\n')\n"
        "    subprocess.run(['git', 'init', '-q', str(HERE / 'scratch')], check=True)\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a littering test")
    (repo / "last_run.txt").write_text("the user's own, untracked\n")
    url, _ = scripted(Step(call="apply_patch", arguments={"patch": FIX}))
    code, events, err = fix(repo, url, "--strategy", "tools", "--apply")
    assert code == 0, err
    patch = finished(events)["patch"]
    assert patch.count("diff --git") == 1
    assert "calc/ops.py" in patch
    assert changed_by_head(repo) == "calc/ops.py\n"
    assert (repo / "last_run.txt").read_text() == "the user's own, untracked\n"
    assert not (repo / "scratch").exists()


def test_a_stale_cache_from_the_buggy_run_does_not_hide_the_fix(repo: Path, scripted: Any) -> None:
    (repo / ".gitignore").write_text(".cache/\n")
    (repo / "tests" / "test_cached.py").write_text(
        "import json, pathlib\n\nfrom calc.ops import mean\n\n"
        "CACHE = pathlib.Path(__file__).resolve().parent.parent / '.cache' / 'mean.json'\n\n\n"
        "def test_mean_cached():\n"
        "    if CACHE.exists():\n"
        "        value = json.loads(CACHE.read_text())\n"
        "    else:\n"
        "        value = mean([1.0, 2.0, 3.0])\n"
        "        CACHE.parent.mkdir(exist_ok=True)\n"
        "        CACHE.write_text(json.dumps(value))\n"
        "    assert value == 2.0\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a test that caches its result")
    url, _ = scripted(Step(call="apply_patch", arguments={"patch": FIX}))
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    assert finished(events)["outcome"] == "fixed"
    assert not (repo / ".cache").exists()  # the runs happened in the copy
