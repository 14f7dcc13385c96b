"""``codeagent index``: index a repository and print its map (or JSON, or a symbol query)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from codeagent.errors import ConfigError
from codeagent.index.repo_index import RepoIndex


def add_parser(commands: Any) -> None:
    index = commands.add_parser(
        "index", help="index a repository (tree-sitter tags, ranked) and print its repo map"
    )
    index.add_argument("path", nargs="?", default=".", help="repository root (default .)")
    index.add_argument("--budget", type=int, default=1024, help="map size in tokens (1024)")
    index.add_argument(
        "--focus",
        nargs="+",
        default=[],
        metavar="FILE_OR_SYMBOL",
        help="rank toward these files (paths) and symbols (name, Class.name, path:name)",
    )
    index.add_argument("--json", action="store_true", help="print JSON instead of the map")
    query = index.add_mutually_exclusive_group()
    query.add_argument("--lookup", metavar="SYMBOL", help="print where SYMBOL is defined")
    query.add_argument("--source", metavar="SYMBOL", help="print the source of SYMBOL")
    query.add_argument("--callers", metavar="SYMBOL", help="print where SYMBOL is referenced")
    index.add_argument("--stats", action="store_true", help="print refresh statistics on stderr")


def run(args: argparse.Namespace) -> int:
    root = args.path
    if not os.path.isdir(root):
        raise ConfigError(f"{args.path} is not a directory")
    if args.budget < 1:
        raise ConfigError("--budget must be at least 1 token")
    index = RepoIndex.open(root)
    if args.stats:
        print(_stats_line(index), file=sys.stderr)
    if args.lookup or args.source or args.callers:
        return _query(index, args)
    repo_map = index.repo_map(args.budget, args.focus)
    if not args.json:
        sys.stdout.write(repo_map.text)
        return 0
    out = {
        "root": str(index.root),
        "files": index.stats.files,
        "skipped": [{"path": s.path, "reason": s.reason} for s in index.skipped],
        "budget": args.budget,
        "tokens": repo_map.tokens,
        "focus": {"files": repo_map.focus_files, "symbols": repo_map.focus_symbols},
        "map": repo_map.text,
        "definitions": [
            {"path": c.path, "name": c.definition.name, "kind": c.definition.kind,
             "line": c.definition.line, "score": c.score}
            for c in repo_map.chosen
        ],
        "refresh": index.stats._asdict(),
    }  # fmt: skip
    import json  # noqa: PLC0415

    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def _query(index: RepoIndex, args: argparse.Namespace) -> int:
    if args.lookup:
        found = index.lookup(args.lookup)
        for loc in found:
            print(f"{loc.path}:{loc.line}: {loc.kind} {loc.signature}")
    elif args.source:
        sources = index.source_of(args.source)
        for loc, text in sources:
            print(f"# {loc.path}:{loc.line}-{loc.end_line}")
            sys.stdout.write(text)
        found = [loc for loc, _ in sources]
    else:
        sites = index.callers(args.callers)
        for site in sites:
            where = f" in {site.caller.name}" if site.caller else ""
            print(f"{site.path}:{site.line}{where}")
        return 0 if sites else 1
    return 0 if found else 1


def _stats_line(index: RepoIndex) -> str:
    s = index.stats
    return (
        f"codeagent index: {s.files} files ({s.parsed} parsed, {s.rehashed} rehashed, "
        f"{s.removed} removed, {s.skipped} skipped) in {s.seconds:.3f} s with {s.workers} worker(s)"
    )
