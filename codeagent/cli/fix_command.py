"""``codeagent fix [PATH]``: its command line. The work is in ``fix_run`` (imported when run)."""

from __future__ import annotations

import argparse
from typing import Any

from codeagent.cli.fix_settings import STRATEGIES, TRANSPORTS


def add_parser(commands: Any) -> None:
    fix_parser = commands.add_parser("fix", help="fix the failing tests of a Python repository")
    fix_parser.add_argument("path", nargs="?", default=".", help="the project (default: .)")
    fix_parser.add_argument("--test-cmd", help="test command (default: python -m pytest)")
    fix_parser.add_argument("--python", help="the repository's interpreter (default: its venv)")
    fix_parser.add_argument("--strategy", choices=STRATEGIES, help="guided or tools (auto)")
    fix_parser.add_argument("--headless", action="store_true", help="no interface: progress lines")
    fix_parser.add_argument("--json", action="store_true", help="JSON lines of events on stdout")
    fix_parser.add_argument("--output", help="write the patch here")
    fix_parser.add_argument("--apply", action="store_true", help="apply the fix to your tree")
    fix_parser.add_argument("--no-commit", action="store_true", help="with --apply: don't commit")
    fix_parser.add_argument("--allow-test-edits", action="store_true", default=None)
    fix_parser.add_argument("--max-turns", type=int, help="model turns (30)")
    fix_parser.add_argument("--max-time", type=float, help="seconds (300)")
    fix_parser.add_argument("--max-tokens", type=int, help="input + output tokens (no limit)")
    fix_parser.add_argument("--model", help="model name (default: embedded / gpt-4.1-mini)")
    fix_parser.add_argument("--base-url", help="a Responses endpoint, e.g. http://host:8765/v1")
    fix_parser.add_argument("--transport", choices=TRANSPORTS, help="ws (default) or http")
    fix_parser.add_argument("--trajectory", help="write every event as JSON lines here")
    fix_parser.add_argument("--verbose", "-v", action="store_true", help="every candidate")


def run(args: argparse.Namespace) -> int:
    from codeagent.cli.fix_run import run as run_fix  # noqa: PLC0415  (agent, tools, git)

    return run_fix(args)
