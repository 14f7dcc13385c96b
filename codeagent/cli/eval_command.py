"""``codeagent eval REPO...``: run ``codeagent fix`` on each repository and print a table.

Each fix runs as its own process (``codeagent fix REPO --headless --json``) with the flags given
here passed on, so a crash or a hang in one cannot touch the others; the row comes from its
``finished`` event. The user's trees are never changed (no ``--apply``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from codeagent.errors import ConfigError

COLUMNS = (
    "| repo | fixed | turns | wall time | model / tests | candidates | bytes sent "
    "| full resend would send | cached / input tokens | agent: setup / per turn |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("eval", help="run fix on each repository and print a table")
    parser.add_argument("repos", nargs="+", help="project folders (e.g. sample_repos/*)")
    parser.add_argument("--max-time", type=float, default=180.0, help="seconds per repo (180)")
    parser.add_argument("--max-turns", type=int, help="model turns per repo")
    parser.add_argument("--strategy", help="guided or tools")
    parser.add_argument("--base-url", help="a Responses endpoint instead of the embedded model")
    parser.add_argument("--model", help="model name")


def run(args: argparse.Namespace) -> int:
    repos = [Path(r) for r in args.repos if Path(r).is_dir()]
    if not repos:
        raise ConfigError("no repository folders given")
    print(COLUMNS, flush=True)
    fixed = 0
    for repo in repos:
        row = _one(repo, args)
        fixed += row["outcome"] == "fixed"
        print(_row(repo, row), flush=True)
    print(f"\n{fixed} of {len(repos)} fixed", flush=True)
    return 0 if fixed == len(repos) else 1


def _one(repo: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "codeagent", "fix", str(repo), "--headless", "--json"]
    command += ["--max-time", str(args.max_time)]
    for flag in ("max_turns", "strategy", "base_url", "model"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag.replace('_', '-')}", str(value)]
    start = time.monotonic()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=args.max_time + 120,
            check=False,
        )
        out, err = done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        out, err = "", "killed: the fix ran far past its budget"
    wall = time.monotonic() - start
    finished = _finished(out)
    if finished is None:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return {"outcome": "error", "reason": last, "wall": wall}
    finished["wall"] = wall
    return finished


def _finished(jsonl: str) -> dict[str, Any] | None:
    for line in reversed(jsonl.splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "finished":
            return event
    return None


def _row(repo: Path, r: dict[str, Any]) -> str:
    """The table row of one repository (printable: its name may not be UTF-8)."""
    from codeagent.agent.events import printable_text  # noqa: PLC0415  (not at parser build)

    return printable_text(_cells(repo, r))


def _cells(repo: Path, r: dict[str, Any]) -> str:
    if r["outcome"] == "error" and "turns" not in r:
        return f"| {repo.name} | error: {r['reason'][:60]} | | {r['wall']:.1f} s | | | | | | |"
    mark = "yes" if r["outcome"] == "fixed" else f"no ({r['outcome']})"
    agent = r["seconds"] - r.get("model_seconds", 0.0) - r.get("test_seconds", 0.0)
    setup = r.get("setup_seconds", 0.0)
    per_turn = max(0.0, agent - setup) / max(1, r["turns"]) * 1000
    return (
        f"| {repo.name} | {mark} | {r['turns']} | {r['wall']:.1f} s | "
        f"{r.get('model_seconds', 0.0):.1f} s / {r.get('test_seconds', 0.0):.1f} s | "
        f"{r['candidates']} | {r['bytes_sent']:,} B | {r['full_resend_bytes']:,} B | "
        f"{r['cached_tokens']:,} / {r['input_tokens']:,} | "
        f"{setup * 1000:.0f} ms / {per_turn:.0f} ms |"
    )
