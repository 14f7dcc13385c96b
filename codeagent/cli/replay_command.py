"""``codeagent replay FILE``: a trajectory (the JSON lines a fix wrote) printed back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from codeagent.agent.events import CandidateProposed, event_from_json
from codeagent.cli.headless import progress_line, write_line
from codeagent.errors import ConfigError


def add_parser(commands: Any) -> None:
    replay = commands.add_parser("replay", help="print a fix's trajectory (JSON lines) back")
    replay.add_argument("file", help="the trajectory written by codeagent fix --trajectory")
    replay.add_argument("--verbose", "-v", action="store_true", help="every candidate and reply")


def run(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from None
    proposed: dict[int, CandidateProposed] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = event_from_json(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{args.file}:{number}: not a codeagent event: {exc}") from None
        if isinstance(event, CandidateProposed):
            proposed[event.id] = event
        text = progress_line(event, proposed, verbose=args.verbose)
        if text and not write_line(sys.stdout, text):
            return 0  # the reader went away (replay FILE | head): nothing more to do
    return 0
