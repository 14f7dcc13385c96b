"""``codeagent``: the console script."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from codeagent.errors import CodeagentError, ConfigError

if TYPE_CHECKING:
    from codeagent.cli.settings import ServeSettings
    from codeagent.server.backend import Backend
    from codeagent.server.config import ServerConfig

# Each command imports what it needs when it runs: `codeagent index` must not pay for the server.
BACKENDS = ("auto", "llama", "upstream", "echo", "scripted")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeagent", description="A terminal bug-fixing agent for Python repositories."
    )
    commands = parser.add_subparsers(dest="command")
    _add_serve_parser(commands)
    from codeagent.cli import (  # noqa: PLC0415
        eval_command,
        fix_command,
        index_command,
        replay_command,
        tui_command,
    )

    fix_command.add_parser(commands)
    tui_command.add_parser(commands)
    eval_command.add_parser(commands)
    replay_command.add_parser(commands)
    index_command.add_parser(commands)
    _add_bench_parser(commands)
    return parser


def _add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the Responses-compatible server (HTTP+SSE and WebSocket on one port)"
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8765; 0 picks one)")
    serve.add_argument(
        "--backend",
        choices=BACKENDS,
        help="model backend (default: upstream if --upstream-url, else llama)",
    )
    serve.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (or env)")
    serve.add_argument(
        "--allowed-origins",
        action="append",
        metavar="ORIGINS",
        help="browser pages let in besides local ones: scheme://host[:port], comma-separated "
        "or repeated; '*' for any",
    )
    serve.add_argument("--max-frame-bytes", type=int, help="largest message accepted")
    serve.add_argument(
        "--max-connection-seconds", type=float, help="WebSocket connection lifetime (3600)"
    )
    serve.add_argument(
        "--handshake-timeout", type=float, help="seconds to send a request head or upgrade (10)"
    )
    serve.add_argument("--ping-interval", type=float, help="WebSocket keepalive pings (20 s)")
    serve.add_argument("--ping-timeout", type=float, help="seconds a pong may take (20)")
    serve.add_argument(
        "--max-connections",
        type=int,
        help="WebSocket connections + HTTP responses at once; more get HTTP 503 (256)",
    )
    serve.add_argument("--token-delay", type=float, help="echo backend: seconds per token")
    serve.add_argument("--script", help="scripted backend: a JSON file of steps (for tests)")
    llama = serve.add_argument_group("llama backend")
    llama.add_argument("--model", help="GGUF file (default: the bundled SmolLM2-135M-Instruct)")
    llama.add_argument("--threads", type=int, help="compute threads (default: free cores)")
    llama.add_argument("--ctx", type=int, help="tokens per KV cache (8192)")
    llama.add_argument("--cache-mb", type=int, help="memory for per-connection KV caches (1024)")
    llama.add_argument("--http-slots", type=int, help="KV caches shared by HTTP requests (1)")
    llama.add_argument("--seed", type=int, help="sampling seed when a request gives none (0)")
    llama.add_argument("--max-output-tokens", type=int, help="reply length by default (512)")
    upstream = serve.add_argument_group("upstream backend (any OpenAI-compatible HTTP endpoint)")
    upstream.add_argument("--upstream-url", help="its base URL, e.g. http://127.0.0.1:8000/v1")
    upstream.add_argument("--upstream-model", help="model to ask for (default: the request's)")
    upstream.add_argument(
        "--upstream-key-env", help="environment variable with its API key (OPENAI_API_KEY)"
    )
    serve.add_argument(
        "--trust-project-config",
        action="store_true",
        default=None,
        help="take this directory's .codeagent.toml / pyproject.toml whole (host, api_key, "
        "allowed_origins, upstream_url, upstream_key_env, model, script included)",
    )


def _add_bench_parser(commands: Any) -> None:
    bench = commands.add_parser("bench", help="measure and print tables")
    suites = bench.add_subparsers(dest="suite", required=True)
    wire = suites.add_parser("wire", help="bytes on the wire: WebSocket chain vs HTTP arms")
    wire.add_argument("--turns", type=int, default=10)
    wire.add_argument("--context-bytes", type=int, default=50_000)
    ttft = suites.add_parser("ttft", help="time to first token with the real model: KV cache")
    ttft.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1000, 3000, 4000, 8000],
        help="static prefixes (tokens) for first vs continuation TTFT",
    )
    ttft.add_argument("--prefix", type=int, default=3000, help="static prefix of the loop")
    ttft.add_argument("--turns", type=int, default=20, help="turns of the edit-test loop")
    ttft.add_argument("--threads", type=int, help="compute threads (default: free cores)")
    ttft.add_argument(
        "--ctx",
        type=int,
        default=10240,
        help="tokens per KV cache: room for the loop (prefix + turns x ~330 tokens)",
    )
    agent = suites.add_parser("agent", help="the agent's own work per turn (model, tests apart)")
    agent.add_argument("repos", nargs="*", default=["sample_repos/calc"], help="projects")
    agent.add_argument("--runs", type=int, default=5, help="measured runs per repo (5)")
    from codeagent.cli import bench_load  # noqa: PLC0415

    bench_load.add_parser(suites)


def make_backend(settings: ServeSettings) -> Backend:
    if settings.backend == "scripted":
        from codeagent.testing.scripted import ScriptedBackend, read_script  # noqa: PLC0415

        if not settings.script:
            raise ConfigError("--backend scripted needs --script FILE")
        return ScriptedBackend(read_script(settings.script))
    if settings.backend == "echo":
        from codeagent.server.echo import EchoBackend  # noqa: PLC0415

        return EchoBackend(token_delay=settings.token_delay)
    backend = settings.backend
    if backend == "auto":
        backend = "upstream" if settings.upstream_url else "llama"
    if backend == "upstream":
        from codeagent.server.upstream import UpstreamBackend, UpstreamSettings  # noqa: PLC0415

        if not settings.upstream_url:
            raise ConfigError("--backend upstream needs --upstream-url")
        return UpstreamBackend(
            UpstreamSettings(
                url=settings.upstream_url,
                model=settings.upstream_model,
                api_key=os.environ.get(settings.upstream_key_env) or None,
            )
        )
    if backend == "llama":
        try:
            from codeagent.server.llama import LlamaBackend, LlamaSettings  # noqa: PLC0415
        except ImportError as exc:
            raise ConfigError(
                f"the llama backend needs llama-cpp-python ({exc.name} is missing): install "
                "codeagent with its 'local' extra, or choose --backend echo"
            ) from exc
        return LlamaBackend(
            LlamaSettings(
                model_path=settings.model,
                threads=settings.threads or None,
                ctx=settings.ctx,
                cache_mb=settings.cache_mb,
                http_slots=settings.http_slots,
                seed=settings.seed,
                max_output_tokens=settings.max_output_tokens,
            )
        )
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
        allowed_origins=settings.allowed_origins,
        limits=SessionLimits(
            max_responses=settings.max_responses_per_connection,
            lifetime_s=settings.max_connection_seconds,
        ),
        handshake_timeout=settings.handshake_timeout,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        max_connections=settings.max_connections,
    )


def run_serve(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from codeagent.cli.settings import merge_serve  # noqa: PLC0415
    from codeagent.server.run import serve  # noqa: PLC0415

    flags = {
        "host": args.host,
        "port": args.port,
        "backend": args.backend,
        "api_key": args.api_key,
        "allowed_origins": args.allowed_origins,
        "max_frame_bytes": args.max_frame_bytes,
        "max_connection_seconds": args.max_connection_seconds,
        "handshake_timeout": args.handshake_timeout,
        "ping_interval": args.ping_interval,
        "ping_timeout": args.ping_timeout,
        "max_connections": args.max_connections,
        "token_delay": args.token_delay,
        "script": args.script,
        "model": args.model,
        "threads": args.threads,
        "ctx": args.ctx,
        "cache_mb": args.cache_mb,
        "http_slots": args.http_slots,
        "seed": args.seed,
        "max_output_tokens": args.max_output_tokens,
        "upstream_url": args.upstream_url,
        "upstream_model": args.upstream_model,
        "upstream_key_env": args.upstream_key_env,
    }
    settings = merge_serve(Path.cwd(), os.environ, flags, trust=args.trust_project_config)
    for ignored in settings.provenance.ignored:
        print(f"codeagent serve: warning: {ignored.warning}", file=sys.stderr, flush=True)
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


def run_bench(args: argparse.Namespace) -> int:
    if args.suite == "agent":
        from pathlib import Path  # noqa: PLC0415

        from codeagent.cli.bench_agent import run_agent_bench  # noqa: PLC0415

        if args.runs < 1:
            raise ConfigError("--runs must be at least 1")
        print(run_agent_bench([Path(r) for r in args.repos], args.runs), flush=True)
        return 0
    if args.suite == "load":
        from codeagent.cli.bench_load import run_load_command  # noqa: PLC0415

        return run_load_command(args)
    if args.suite == "wire":
        from codeagent.cli.bench import run_wire_bench  # noqa: PLC0415 (starts a server)

        if args.turns < 1 or args.context_bytes < 1:
            raise ConfigError("--turns and --context-bytes must be positive")
        print(run_wire_bench(args.turns, args.context_bytes))
        return 0
    try:
        from codeagent.cli.bench_ttft import run_ttft_bench  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(f"bench ttft needs the llama backend ({exc.name} is missing)") from exc
    if args.turns < 2 or args.prefix < 1 or min(args.sizes) < 1:
        raise ConfigError("--turns must be at least 2, --prefix and --sizes positive")
    print(run_ttft_bench(args.sizes, args.prefix, args.turns, args.threads, args.ctx), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # plain `codeagent`: the interface in a terminal, else the help
        if not (sys.stdout.isatty() and sys.stdin.isatty()):
            parser.print_help(sys.stderr)
            return 2
        args = parser.parse_args(["tui"])
    try:
        if args.command == "serve":
            return run_serve(args)
        if args.command == "index":
            from codeagent.cli import index_command  # noqa: PLC0415

            return index_command.run(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "fix":
            from codeagent.cli import fix_command  # noqa: PLC0415

            return fix_command.run(args)
        if args.command == "tui":
            from codeagent.cli.tui_command import run_tui  # noqa: PLC0415

            return run_tui(args, start=False)
        if args.command == "eval":
            from codeagent.cli import eval_command  # noqa: PLC0415

            return eval_command.run(args)
        if args.command == "replay":
            from codeagent.cli import replay_command  # noqa: PLC0415

            return replay_command.run(args)
    except CodeagentError as exc:
        _say(f"codeagent: error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: one line; the traceback only when asked
        if os.environ.get("CODEAGENT_DEBUG"):
            raise
        from codeagent.cli.logs import Redacting  # noqa: PLC0415

        keys = [os.environ.get(name, "") for name in ("OPENAI_API_KEY", "CODEAGENT_API_KEY")]
        text = Redacting(keys).scrub(f"{type(exc).__name__}: {exc}")
        _say(f"codeagent: internal error: {text} (CODEAGENT_DEBUG=1 shows where)")
        return EXIT_INTERNAL
    return 2


EXIT_INTERNAL = 70
"""A bug of codeagent's (``EX_SOFTWARE``): it says so in one line, never a traceback."""


def _say(line: str) -> None:
    """One line on stderr; a closed stderr loses it and nothing else."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
