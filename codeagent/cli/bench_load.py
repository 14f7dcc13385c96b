"""``codeagent bench load``: many concurrent conversations against one ``codeagent serve``.

For each transport (WebSocket, HTTP+SSE) and each number of connections C, a fresh server runs
in a subprocess (so its resident memory is its own, read from ``/proc/PID/status``), and C
clients on one asyncio loop each run a chain of T short turns with ``previous_response_id``.
Each row: turns failed, turns refused with 503 ``too_many_connections``, turns resent in full
(the chain was lost: an evicted stored response), turns per second over the whole run, time to
first token p50/p95, and the server's RSS before, at its peak (sampled every 20 ms) and after,
with ``(peak - before) / C`` as the memory each connection costs. (With the llama backend
the peak is mostly KV caches, capped by the server's ``--cache-mb`` whatever C is.)

The clients share the machine with the server, so on few cores the figures measure both; HTTP
chains go through the server's response store, so more concurrent chains than its capacity
show up as ``resent`` turns (full resends after ``previous_response_not_found``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codeagent.errors import ApiError, CodeagentError, ConfigError, UpgradeRefused

TRANSPORTS = ("ws", "http")
_ANNOUNCE = re.compile(r"http://[^:]+:(\d+)/v1")
KiB = 1024


def add_parser(suites: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = suites.add_parser(
        "load", help="many concurrent chained conversations: errors, turns/s, TTFT, server RSS"
    )
    load.add_argument("--backend", choices=("echo", "llama"), default="echo")
    load.add_argument(
        "--connections", type=int, nargs="+", default=[64, 256, 1024], help="sizes, one row each"
    )
    load.add_argument("--turns", type=int, default=5, help="chained turns per connection (5)")
    load.add_argument(
        "--transport", choices=TRANSPORTS, nargs="+", default=list(TRANSPORTS), help="(both)"
    )
    load.add_argument("--max-output-tokens", type=int, default=8, help="reply length (8)")
    load.add_argument(
        "--server-max-connections",
        type=int,
        help="the server's --max-connections (default: the largest size, so none is refused)",
    )
    load.add_argument(
        "--open-at-once",
        type=int,
        default=0,
        help="connections making their first turn at the same time; 0: all at once (0)",
    )
    load.add_argument("--serve-arg", action="append", default=[], help="extra serve flag")


@dataclass(frozen=True, slots=True)
class LoadSpec:
    backend: str
    transport: str
    connections: int
    turns: int
    max_output_tokens: int
    server_max_connections: int
    open_at_once: int = 0
    """Connections making their first turn at once (a stagger); 0: all at once."""
    serve_args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadRow:
    spec: LoadSpec
    turns_ok: int
    errors: int
    """Turns that failed, the refused ones included (a failed turn ends its chain)."""
    refused: int
    """Of ``errors``: refused with HTTP 503 ``too_many_connections``."""
    resent: int
    """Turns sent again with the whole conversation (the chained response was gone)."""
    wall_s: float
    ttft: tuple[float, ...]
    rss_before: int
    rss_peak: int
    rss_after: int
    first_error: str = ""

    @property
    def turns_per_s(self) -> float:
        return self.turns_ok / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def rss_per_connection(self) -> float:
        return (self.rss_peak - self.rss_before) / self.spec.connections

    def ttft_quantile(self, q: float) -> float | None:
        if not self.ttft:
            return None
        ordered = sorted(self.ttft)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` (``VmRSS`` of ``/proc/PID/status``); 0 once gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KiB
    return 0


def raise_open_files(needed: int) -> str:
    """Raise the soft open-files limit to the hard one when ``needed`` descriptors (client and
    server sides together) exceed it; a note when it stays too low, else ``""``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed <= soft:
        return ""
    target = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed > soft:
        return f"open-files limit {soft} is below the ~{needed} descriptors needed"
    return ""


class ServerProcess:
    """``codeagent serve`` in a subprocess on a free port; its ``pid`` is read for RSS."""

    def __init__(self, spec: LoadSpec) -> None:
        self.command = [
            sys.executable,
            "-m",
            "codeagent",
            "serve",
            "--backend",
            spec.backend,
            "--port",
            "0",
            "--max-connections",
            str(spec.server_max_connections),
            *spec.serve_args,
        ]
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            seen.append(line)
            match = _ANNOUNCE.search(line)
            if match:
                self.port = int(match.group(1))
                return self
        self.process.wait()
        raise ConfigError(f"the server did not start: {''.join(seen)[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@dataclass(slots=True)
class _Tally:
    ok: int = 0
    errors: int = 0
    refused: int = 0
    resent: int = 0
    ttft: list[float] = field(default_factory=list)
    first_error: str = ""

    def fail(self, exc: CodeagentError) -> None:
        self.errors += 1
        refused = (isinstance(exc, UpgradeRefused) and "503" in str(exc)) or (
            isinstance(exc, ApiError) and exc.info.code == "too_many_connections"
        )
        self.refused += refused
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"


async def _conversation(
    spec: LoadSpec, port: int, index: int, opening: asyncio.Semaphore | None, tally: _Tally
) -> None:
    from codeagent.protocol.items import user_message  # noqa: PLC0415
    from codeagent.transport.client import ClientConfig, ResponsesClient  # noqa: PLC0415
    from codeagent.transport.sse import http_connector  # noqa: PLC0415
    from codeagent.transport.websocket import websocket_connector  # noqa: PLC0415

    if spec.transport == "ws":
        connector = websocket_connector(f"ws://127.0.0.1:{port}/v1/responses", open_timeout=60)
    else:
        connector = http_connector(f"http://127.0.0.1:{port}/v1", timeout=600)
    config = ClientConfig(
        model="codeagent",
        store=spec.transport == "http",  # HTTP chains through the store; WebSocket needs none
        max_output_tokens=spec.max_output_tokens,
        reconnect_attempts=0,  # a refusal is counted, not retried
    )
    async with ResponsesClient(connector, config) as client:
        for turn in range(spec.turns):
            message = user_message(f"connection {index}, turn {turn}: say ok")
            try:
                if turn == 0 and opening is not None:
                    async with opening:
                        result = await client.turn([message])
                else:
                    result = await client.turn([message])
            except CodeagentError as exc:
                tally.fail(exc)
                return
            tally.ok += 1
            tally.resent += result.stats.retried
            if result.stats.time_to_first_token is not None:
                tally.ttft.append(result.stats.time_to_first_token)


async def _sample_peak(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_bytes(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.02)


async def _drive(spec: LoadSpec, server: ServerProcess) -> LoadRow:
    await asyncio.sleep(0.2)  # let the server settle before reading its baseline
    before = rss_bytes(server.pid)
    peak = [before]
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_peak(server.pid, peak, stop))
    opening = asyncio.Semaphore(spec.open_at_once) if spec.open_at_once > 0 else None
    tally = _Tally()
    start = time.perf_counter()
    await asyncio.gather(
        *(_conversation(spec, server.port, i, opening, tally) for i in range(spec.connections))
    )
    wall = time.perf_counter() - start
    stop.set()
    await sampler
    peak[0] = max(peak[0], rss_bytes(server.pid))
    await asyncio.sleep(0.5)  # the server closes its side of the connections
    return LoadRow(
        spec=spec,
        turns_ok=tally.ok,
        errors=tally.errors,
        refused=tally.refused,
        resent=tally.resent,
        wall_s=wall,
        ttft=tuple(tally.ttft),
        rss_before=before,
        rss_peak=peak[0],
        rss_after=rss_bytes(server.pid),
        first_error=tally.first_error,
    )


def run_load(spec: LoadSpec) -> LoadRow:
    """One row: a fresh server, ``spec.connections`` conversations of ``spec.turns`` turns."""
    with ServerProcess(spec) as server:
        return asyncio.run(_drive(spec, server))


def run_load_bench(
    backend: str,
    sizes: Sequence[int],
    turns: int,
    transports: Sequence[str] = TRANSPORTS,
    *,
    max_output_tokens: int = 8,
    server_max_connections: int | None = None,
    open_at_once: int = 0,
    serve_args: Sequence[str] = (),
) -> tuple[list[LoadRow], list[str]]:
    """Every (transport, size) row, and notes (an open-files limit too low, say)."""
    notes = []
    note = raise_open_files(2 * max(sizes) + 256)
    if note:
        notes.append(note)
    rows = []
    for transport in transports:
        for size in sizes:
            spec = LoadSpec(
                backend=backend,
                transport=transport,
                connections=size,
                turns=turns,
                max_output_tokens=max_output_tokens,
                server_max_connections=server_max_connections or max(sizes),
                open_at_once=open_at_once,
                serve_args=tuple(serve_args),
            )
            rows.append(run_load(spec))
    return rows, notes


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.1f} ms"


def _mib(value: float) -> str:
    return f"{value / (KiB * KiB):,.1f} MiB"


def load_table(rows: Sequence[LoadRow], notes: Sequence[str] = ()) -> str:
    first = rows[0].spec
    opening = first.open_at_once or "all"
    lines = [
        f"backend {first.backend}, {first.turns} chained turns per connection, "
        f"max_output_tokens {first.max_output_tokens}, server --max-connections "
        f"{first.server_max_connections}, {opening} connections opening at once, 127.0.0.1",
        *[f"note: {n}" for n in notes],
        "",
        "| transport | connections | turns ok | errors (503) | resent | turns/s | TTFT p50 "
        "| TTFT p95 | RSS before | RSS peak | RSS after | RSS per connection |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name = "WebSocket" if row.spec.transport == "ws" else "HTTP+SSE"
        lines.append(
            f"| {name} | {row.spec.connections:,} | {row.turns_ok:,} "
            f"| {row.errors:,} ({row.refused:,}) | {row.resent:,} | {row.turns_per_s:,.1f} "
            f"| {_ms(row.ttft_quantile(0.5))} | {_ms(row.ttft_quantile(0.95))} "
            f"| {_mib(row.rss_before)} | {_mib(row.rss_peak)} | {_mib(row.rss_after)} "
            f"| {row.rss_per_connection / KiB:,.1f} KiB |"
        )
    errors = [
        f"{r.spec.transport} x{r.spec.connections}: {r.first_error}" for r in rows if r.errors
    ]
    if errors:
        lines += ["", "first error of each failing row:", *errors]
    return "\n".join(lines)


def run_load_command(args: argparse.Namespace) -> int:
    if args.turns < 1 or min(args.connections) < 1 or args.max_output_tokens < 1:
        raise ConfigError("--turns, --connections and --max-output-tokens must be positive")
    rows, notes = run_load_bench(
        args.backend,
        args.connections,
        args.turns,
        args.transport,
        max_output_tokens=args.max_output_tokens,
        server_max_connections=args.server_max_connections,
        open_at_once=args.open_at_once,
        serve_args=args.serve_arg,
    )
    print(load_table(rows, notes), flush=True)
    return 0
