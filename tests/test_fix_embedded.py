"""``codeagent fix`` with the real embedded model on a sample repository, as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_repos" / "calc"


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_fix_headless_with_the_embedded_model(tmp_path: Path) -> None:
    repo = tmp_path / "calc"
    shutil.copytree(SAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    before = digest(repo)
    patch = tmp_path / "fix.patch"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEAGENT_", "OPENAI_"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "fix", str(repo), "--headless", "--json",
         "--output", str(patch), "--python", sys.executable, "--max-time", "120"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    finished = events[-1]
    assert (finished["event"], finished["outcome"]) == ("finished", "fixed")
    started = events[0]
    assert (started["provider"], started["strategy"]) == ("embedded", "guided")
    # The model was really asked, over one connection whose prefix it kept.
    turns = [e["stats"] for e in events if e["event"] == "turn_finished"]
    assert len(turns) >= 2
    assert sum(t["handshakes"] for t in turns) == 1
    assert all(t["cached_tokens"] > 0 for t in turns[1:])
    text = patch.read_text()
    assert text == finished["patch"]
    assert "calc/ops.py" in text
    assert "tests/" not in text  # no test file touched
    assert digest(repo) == before  # the user's tree is unchanged
    # The patch makes the tests pass: applied to a fresh copy, the suite is green.
    check = tmp_path / "check"
    shutil.copytree(SAMPLE, check, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    subprocess.run(["git", "apply", str(patch)], cwd=check, check=True)
    green = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=check, capture_output=True, text=True, env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )  # fmt: skip
    assert green.returncode == 0, green.stdout
