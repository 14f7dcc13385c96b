"""The layer rules of DESIGN.md hold (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
         "lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "0 broken" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0


def test_protocol_core_imports_no_io() -> None:
    code = (
        "import sys, codeagent.protocol.session, codeagent.protocol.accumulator; "
        "bad = {'asyncio', 'websockets', 'httpx', 'starlette', 'uvicorn'} & set(sys.modules); "
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_git_runs_only_through_the_hardened_wrapper() -> None:
    """Every git command goes through ``tools.gitcmd.run_git`` (hooks, fsmonitor, signing,
    drivers and redirecting variables switched off): no other module starts git itself."""
    pattern = re.compile(r"""[\[(]\s*["']git["']\s*,""")
    starts = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "codeagent").rglob("*.py"))
        if path.name != "gitcmd.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert starts == []
