"""``codeagent bench wire``: what a chained WebSocket conversation costs on the wire, against the
HTTP arms, measured in one run against a local server with the deterministic backend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.testing.workload import config, run_edit_test_loop, static_context
from codeagent.transport.base import Connector
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.stats import Totals
from codeagent.transport.websocket import websocket_connector


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    totals: Totals
    first_turn_bytes: int
    continuation_bytes: float


async def _arm(name: str, connector: Connector, cfg: ClientConfig, turns: int, size: int) -> Arm:
    async with ResponsesClient(connector, cfg) as client:
        stats = await run_edit_test_loop(client, turns, static_context(size))
    rest = [s.bytes_sent for s in stats[1:]]
    return Arm(name, Totals.of(stats), stats[0].bytes_sent, sum(rest) / max(1, len(rest)))


async def wire_arms(server: BackgroundServer, turns: int, size: int) -> list[Arm]:
    return [
        await _arm("WebSocket, chained (store=false)", websocket_connector(server.ws_url),
                   config(), turns, size),
        await _arm("HTTP+SSE, chained (store=true)", http_connector(server.base_url),
                   config(store=True), turns, size),
        await _arm("HTTP+SSE, full resend", http_connector(server.base_url),
                   config(chain=False), turns, size),
    ]  # fmt: skip


def wire_table(arms: list[Arm], turns: int, size: int) -> str:
    lines = [
        f"{turns} turns, {size:,} B static context, echo backend, 127.0.0.1",
        "",
        "| arm | sent, total | sent, turn 1 | sent per later turn | received | handshakes "
        "| cached tokens / input tokens | wall time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm in arms:
        t = arm.totals
        lines.append(
            f"| {arm.name} | {t.bytes_sent:,} B | {arm.first_turn_bytes:,} B "
            f"| {arm.continuation_bytes:,.0f} B | {t.bytes_received:,} B | {t.handshakes} "
            f"| {t.cached_tokens:,} / {t.input_tokens:,} | {t.total_time * 1000:.0f} ms |"
        )
    return "\n".join(lines)


def run_wire_bench(turns: int, size: int) -> str:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        arms = asyncio.run(wire_arms(server, turns, size))
    return wire_table(arms, turns, size)
