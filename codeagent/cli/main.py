"""``codeagent``: the console script."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codeagent.errors import CodeagentError, ConfigError

if TYPE_CHECKING:
    from codeagent.cli.settings import ServeSettings
    from codeagent.server.backend import Backend
    from codeagent.server.config import ServerConfig

# Each command imports what it needs when it runs: `codeagent index` must not pay for the server.
BACKENDS = ("echo",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeagent", description="A terminal bug-fixing agent for Python repositories."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the Responses-compatible server (HTTP+SSE and WebSocket on one port)"
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8765; 0 picks one)")
    serve.add_argument("--backend", choices=BACKENDS, help="model backend (default echo)")
    serve.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (or env)")
    serve.add_argument("--max-frame-bytes", type=int, help="largest message accepted")
    serve.add_argument(
        "--max-connection-seconds", type=float, help="WebSocket connection lifetime (3600)"
    )
    serve.add_argument("--token-delay", type=float, help="echo backend: seconds per token")
    from codeagent.cli import index_command  # noqa: PLC0415

    index_command.add_parser(commands)
    bench = commands.add_parser("bench", help="measure and print tables")
    suites = bench.add_subparsers(dest="suite", required=True)
    wire = suites.add_parser("wire", help="bytes on the wire: WebSocket chain vs HTTP arms")
    wire.add_argument("--turns", type=int, default=10)
    wire.add_argument("--context-bytes", type=int, default=50_000)
    return parser


def make_backend(settings: ServeSettings) -> Backend:
    from codeagent.server.echo import EchoBackend  # noqa: PLC0415

    if settings.backend == "echo":
        return EchoBackend(token_delay=settings.token_delay)
    raise ConfigError(f"unknown backend {settings.backend!r}; choose from {', '.join(BACKENDS)}")


def server_config(settings: ServeSettings) -> ServerConfig:
    from codeagent.protocol.session import SessionLimits  # noqa: PLC0415
    from codeagent.server.config import ServerConfig  # noqa: PLC0415

    return ServerConfig(
        host=settings.host,
        port=settings.port,
        api_key=settings.api_key,
        max_frame_bytes=settings.max_frame_bytes,
        store_capacity=settings.store_capacity,
        limits=SessionLimits(
            max_responses=settings.max_responses_per_connection,
            lifetime_s=settings.max_connection_seconds,
        ),
    )


def run_serve(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from codeagent.cli.settings import merge, read_config_file  # noqa: PLC0415
    from codeagent.server.run import serve  # noqa: PLC0415

    flags = {
        "host": args.host,
        "port": args.port,
        "backend": args.backend,
        "api_key": args.api_key,
        "max_frame_bytes": args.max_frame_bytes,
        "max_connection_seconds": args.max_connection_seconds,
        "token_delay": args.token_delay,
    }
    settings = merge(read_config_file(Path.cwd()), os.environ, flags)
    backend = make_backend(settings)
    config = server_config(settings)
    auth = "Bearer key required" if config.api_key else "no auth"

    def announce(port: int) -> None:
        print(
            f"codeagent serve: backend {backend.name} ({backend.model}) on "
            f"http://{config.host}:{port}/v1 and ws://{config.host}:{port}/v1/responses ({auth})",
            flush=True,
        )

    serve(backend, config, announce)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return run_serve(args)
        if args.command == "index":
            from codeagent.cli import index_command  # noqa: PLC0415

            return index_command.run(args)
        if args.command == "bench":
            from codeagent.cli.bench import run_wire_bench  # noqa: PLC0415 (starts a server)

            if args.turns < 1 or args.context_bytes < 1:
                raise ConfigError("--turns and --context-bytes must be positive")
            print(run_wire_bench(args.turns, args.context_bytes))
            return 0
    except CodeagentError as exc:
        print(f"codeagent: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
