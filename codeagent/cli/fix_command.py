"""``codeagent fix [PATH]``: its command line. The work is in ``fix_run`` (imported when run)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from codeagent.cli.fix_settings import SANDBOXES, STRATEGIES, TRANSPORTS


def add_parser(commands: Any) -> None:
    fix_parser = commands.add_parser("fix", help="fix the failing tests of a Python repository")
    fix_parser.add_argument("path", nargs="?", default=".", help="the project (default: .)")
    add_fix_options(fix_parser)
    fix_parser.add_argument("--headless", action="store_true", help="no interface: progress lines")
    fix_parser.add_argument("--json", action="store_true", help="JSON lines of events on stdout")
    fix_parser.add_argument("--output", help="write the patch here")
    fix_parser.add_argument("--apply", action="store_true", help="apply the fix to your tree")
    fix_parser.add_argument("--trajectory", help="write every event as JSON lines here")
    fix_parser.add_argument("--verbose", "-v", action="store_true", help="every candidate")


def add_fix_options(parser: Any) -> None:
    """The options ``fix`` and ``tui`` share: what to fix, with which model, within what."""
    parser.add_argument("--test-cmd", help="test command (default: python -m pytest)")
    parser.add_argument("--python", help="the repository's interpreter (default: its venv)")
    parser.add_argument("--strategy", choices=STRATEGIES, help="guided or tools (auto)")
    parser.add_argument("--no-commit", action="store_true", help="applying: don't commit")
    parser.add_argument("--allow-test-edits", action="store_true", default=None)
    parser.add_argument("--max-turns", type=int, help="model turns (30)")
    parser.add_argument("--max-time", type=float, help="seconds (300)")
    parser.add_argument("--max-tokens", type=int, help="input + output tokens (no limit)")
    parser.add_argument("--test-timeout", type=float, help="seconds a test run may take (120)")
    parser.add_argument(
        "--idle-timeout", type=float, help="seconds the model may stay silent in a turn (120)"
    )
    parser.add_argument("--model", help="model name (default: embedded / gpt-4.1-mini)")
    parser.add_argument("--base-url", help="a Responses endpoint, e.g. http://host:8765/v1")
    parser.add_argument("--transport", choices=TRANSPORTS, help="ws (default) or http")
    parser.add_argument(
        "--sandbox",
        choices=SANDBOXES,
        help="where the tests run: bubblewrap where it works (auto), required, or off",
    )
    parser.add_argument(
        "--trust-project-config",
        action="store_true",
        default=None,
        help="take the project's .codeagent.toml / pyproject.toml whole (base_url, python, "
        "test_cmd, allow_test_edits included)",
    )


def interactive(args: argparse.Namespace) -> bool:
    """The Textual interface, or progress lines: headless when stdout is not a terminal, in CI,
    or when asked (``--headless``, ``--json``)."""
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return not (args.headless or args.json or ci) and sys.stdout.isatty() and sys.stdin.isatty()


def run(args: argparse.Namespace) -> int:
    if interactive(args):
        from codeagent.cli.tui_command import run_tui  # noqa: PLC0415  (textual)

        return run_tui(args, start=True)
    from codeagent.cli.fix_run import run as run_fix  # noqa: PLC0415  (agent, tools, git)

    return run_fix(args)
