"""``codeagent bench ttft``: what the connection-scoped KV cache saves with a real model.

One run, the llama backend in-process behind a real server on 127.0.0.1, our client over real
sockets. Two tables:

1. Time to first token of a first turn (static prefix + one edit-test report) and of the
   continuation after it (one more report), for static prefixes of several sizes: over
   WebSocket (the connection keeps its KV cache) and over HTTP resending the whole conversation
   to a server that keeps no prefix cache for HTTP (``--http-slots 0``), with cached_tokens.
2. A 20-turn edit -> test loop (static prefix of about 3,000 tokens, about 250 tokens of diff
   and test output a turn) over four arms: WebSocket; HTTP chained with ``store=true`` on a
   server with one shared HTTP prefix cache; HTTP full resend on that server; HTTP full resend
   with no HTTP prefix cache. Total time, bytes sent, cached / input tokens.

Greedy sampling (temperature 0) and a few output tokens a turn, so prefill dominates as it does
for an agent whose turns carry diffs and test output. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from codeagent.model import chat
from codeagent.protocol.generation import Prompt
from codeagent.protocol.items import Item, Message, user_message
from codeagent.server.config import ServerConfig
from codeagent.server.llama import LlamaBackend, LlamaSettings
from codeagent.server.run import BackgroundServer
from codeagent.testing.workload import (
    INSTRUCTIONS,
    TOOLS,
    config,
    edit_test_report,
    edit_test_turn,
    run_edit_test_loop,
    static_context,
)
from codeagent.transport.base import Connector
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.stats import Totals, TurnStats
from codeagent.transport.websocket import websocket_connector

OUTPUT_TOKENS = 8


def _progress(what: str) -> None:
    print(f"bench ttft: {what}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class TtftRow:
    arm: str
    prefix_tokens: int
    first: TurnStats
    continuation: TurnStats
    short: TurnStats | None
    """A one-line continuation after ``continuation`` (WebSocket only)."""


@dataclass(frozen=True, slots=True)
class LoopArm:
    name: str
    totals: Totals
    stats: tuple[TurnStats, ...]


def sized_context(backend: LlamaBackend, tokens: int) -> Item:
    """The static context message whose prefix (instructions + tools + it) has ``tokens``
    tokens in the model's own tokenizer, to within a few."""
    low, high = 1, tokens * 8
    while low < high:
        mid = (low + high + 1) // 2
        if _prefix_tokens(backend, static_context(mid)) <= tokens:
            low = mid
        else:
            high = mid - 1
    return static_context(low)


def _session(context: Item, k: int) -> Item:
    """The context with a first line of its own, so that no arm finds another arm's
    conversation in a shared cache (they still share the system block, as real clients do)."""
    assert isinstance(context, Message)
    return user_message(f"Session {k}.\n{context.text}")


def _prefix_tokens(backend: LlamaBackend, context: Item) -> int:
    return backend.count_tokens(chat.render_prefix(Prompt(INSTRUCTIONS, TOOLS, (context,))))


def _client_config(model: str, **kw: bool) -> ClientConfig:
    return config(model=model, temperature=0.0, max_output_tokens=OUTPUT_TOKENS, **kw)


SHORT_TURN = "Run the tests again."


async def ttft_turns(
    connector: Connector, cfg: ClientConfig, context: Item, *, short: bool
) -> list[TurnStats]:
    """The static context with a first edit-test report; then a continuation with the next one
    (a one-line diff and the test summary, ~130 tokens); then, if ``short``, a one-line
    continuation (~20 tokens with the re-rendered reply), the floor of a continuation's cost."""
    async with ResponsesClient(connector, cfg) as client:
        await client.turn([context, edit_test_turn(0)])
        await client.turn([edit_test_turn(1)])
        if short:
            await client.turn([user_message(SHORT_TURN)])
    return client.stats[-3 if short else -2 :]


async def loop(
    connector: Connector, cfg: ClientConfig, context: Item, turns: int
) -> tuple[TurnStats, ...]:
    async with ResponsesClient(connector, cfg) as client:
        return tuple(await run_edit_test_loop(client, turns, context, edit_test_report))


def run_ttft_bench(
    sizes: Sequence[int], loop_prefix: int, turns: int, threads: int | None, ctx: int
) -> str:
    started = time.perf_counter()
    load = os.getloadavg()[0]
    cached = LlamaBackend(LlamaSettings(threads=threads, ctx=ctx, http_slots=1))
    uncached = LlamaBackend(LlamaSettings(threads=threads, ctx=ctx, http_slots=0))
    model = cached.model
    contexts = {n: sized_context(cached, n) for n in sorted({*sizes, loop_prefix})}
    ttft: list[TtftRow] = []
    arms: list[LoopArm] = []
    try:
        with BackgroundServer(cached, ServerConfig(port=0)) as server:
            ws = websocket_connector(server.ws_url)
            for n in sizes:
                _progress(f"WebSocket, {n:,}-token prefix")
                first, cont, short = asyncio.run(
                    ttft_turns(ws, _client_config(model), contexts[n], short=True)
                )
                ttft.append(TtftRow("WebSocket, chained", n, first, cont, short))
            http = http_connector(server.base_url)
            for k, (name, connector, kw) in enumerate((
                ("WebSocket, chained (connection KV cache)", ws, {}),
                ("HTTP, chained store=true (shared HTTP prefix cache)", http, {"store": True}),
                ("HTTP, full resend (shared HTTP prefix cache)", http, {"chain": False}),
            )):  # fmt: skip
                _progress(f"loop: {name}")
                context = _session(contexts[loop_prefix], k)
                stats = asyncio.run(loop(connector, _client_config(model, **kw), context, turns))
                arms.append(LoopArm(name, Totals.of(stats), stats))
        with BackgroundServer(uncached, ServerConfig(port=0)) as server:
            http = http_connector(server.base_url)
            resend = _client_config(model, chain=False)
            for n in sizes:
                _progress(f"HTTP full resend, {n:,}-token prefix")
                first, cont = asyncio.run(ttft_turns(http, resend, contexts[n], short=False))
                ttft.append(
                    TtftRow("HTTP, full resend (no HTTP prefix cache)", n, first, cont, None)
                )
            _progress("loop: HTTP, full resend (no HTTP prefix cache)")
            stats = asyncio.run(loop(http, resend, _session(contexts[loop_prefix], 3), turns))
            arms.append(
                LoopArm("HTTP, full resend (no HTTP prefix cache)", Totals.of(stats), stats)
            )
    finally:
        cached.close()
        uncached.close()
    header = (
        f"model {model}, {cached.threads} threads, ctx {ctx}, {OUTPUT_TOKENS} output tokens a "
        f"turn, greedy; load average {load:.2f} at start; {time.perf_counter() - started:.0f} s"
    )
    return "\n".join([header, "", ttft_table(ttft), "", loop_table(arms, loop_prefix, turns)])


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def ttft_table(rows: list[TtftRow]) -> str:
    lines = [
        "| arm | static prefix | first turn TTFT | continuation TTFT | continuation / first "
        "| cached / input, first | cached / input, continuation "
        f"| one-line continuation ({SHORT_TURN!r}) TTFT | its cached / input |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a, b = r.first.time_to_first_token, r.continuation.time_to_first_token
        ratio = f"{b / a:.1%}" if a and b else "-"
        short = "- | -"
        if r.short is not None:
            short = (
                f"{_ms(r.short.time_to_first_token)} "
                f"| {r.short.cached_tokens:,} / {r.short.input_tokens:,}"
            )
        lines.append(
            f"| {r.arm} | {r.prefix_tokens:,} | {_ms(a)} | {_ms(b)} | {ratio} "
            f"| {r.first.cached_tokens:,} / {r.first.input_tokens:,} "
            f"| {r.continuation.cached_tokens:,} / {r.continuation.input_tokens:,} | {short} |"
        )
    ws = [r for r in rows if r.arm.startswith("WebSocket")]
    if len(ws) > 1:
        lines.append("")
        pairs = (
            ("continuation", ws[0].continuation, ws[-1].continuation),
            ("one-line continuation", ws[0].short, ws[-1].short),
        )
        for label, small, large in pairs:
            a = small.time_to_first_token if small else None
            b = large.time_to_first_token if large else None
            if a and b:
                lines.append(
                    f"WebSocket {label} TTFT, {ws[-1].prefix_tokens:,}-token prefix / "
                    f"{ws[0].prefix_tokens:,}-token prefix: {b / a:.2f}x"
                )
    return "\n".join(lines)


def loop_table(arms: list[LoopArm], prefix: int, turns: int) -> str:
    lines = [
        f"{turns}-turn edit -> test loop, static prefix {prefix:,} tokens:",
        "",
        "| arm | total time | mean TTFT, turns 2+ | bytes sent | cached / input tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for arm in arms:
        t = arm.totals
        later = [s.time_to_first_token for s in arm.stats[1:] if s.time_to_first_token]
        mean = sum(later) / len(later) if later else None
        lines.append(
            f"| {arm.name} | {t.total_time:,.1f} s | {_ms(mean)} | {t.bytes_sent:,} B "
            f"| {t.cached_tokens:,} / {t.input_tokens:,} |"
        )
    return "\n".join(lines)
