"""``codeagent tui [PATH]`` (and ``fix`` in a terminal): the Textual interface on a project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codeagent.cli.fix_command import add_fix_options
from codeagent.errors import CodeagentError, ConfigError


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("tui", help="an interactive fixing session in the terminal")
    parser.add_argument("path", nargs="?", default=".", help="the project (default: .)")
    add_fix_options(parser)


def run_tui(args: argparse.Namespace, *, start: bool) -> int:
    """Open the app on ``args.path``; with ``start`` it begins fixing at once."""
    from codeagent.agent.events import printable_text  # noqa: PLC0415
    from codeagent.cli.fix_run import protect_process, quiet_logs  # noqa: PLC0415
    from codeagent.cli.fix_settings import merge_fix  # noqa: PLC0415
    from codeagent.cli.tui_host import CliHost  # noqa: PLC0415
    from codeagent.tui.app import DEFAULT_REQUEST, FixApp  # noqa: PLC0415

    quiet_logs()
    environ = protect_process()
    project = Path(args.path).resolve()
    try:
        if not project.is_dir():
            raise ConfigError(f"{args.path}: not a directory")
        trust = getattr(args, "trust_project_config", None)
        settings = merge_fix(project, environ, flags_of(args), trust=trust)
    except CodeagentError as exc:
        print(f"codeagent: error: {exc}", file=sys.stderr)
        return 2
    commit = not getattr(args, "no_commit", False)
    host = CliHost(project, settings, commit=commit, environ=environ)
    message = FixApp(host, start=DEFAULT_REQUEST if start else None).run()
    if message:
        print(printable_text(message))  # a path that is not UTF-8 must not fail the exit
    return 0


def flags_of(args: argparse.Namespace) -> dict[str, Any]:
    from codeagent.cli.fix_run import flags  # noqa: PLC0415

    return flags(args)
