"""``codeagent bench agent``: the agent's own work per turn, with model and test time taken out.

Each run is a whole guided fix session in this process (work copy, fork-server test runs, one
WebSocket connection), against the echo backend, so the model's share is small and measured;
the test runs are measured too. What is left is the agent's own work: localising, indexing
and building the context once (setup), then per turn building candidates, writing and
restoring files, diffs, events. The first run of each repo warms imports and caches and is
not counted.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

from codeagent.agent.bench import FixOptions
from codeagent.agent.events import AgentEvent, Finished
from codeagent.agent.outcome import Budget
from codeagent.agent.session import fix
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.tools.pytest_runner import PytestRunner
from codeagent.tools.workspace import WorkCopy
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.websocket import websocket_connector

HEADER = (
    "| repo | runs | fixed | turns | candidates | setup (once) | agent work per turn "
    "| per candidate |\n|---|---:|---|---:|---:|---:|---:|---:|"
)


def run_agent_bench(repos: list[Path], runs: int) -> str:
    rows = [HEADER]
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        for repo in repos:
            results = [_one(repo, server.ws_url) for _ in range(runs + 1)][1:]
            rows.append(_row(repo, results))
    return "\n".join(rows)


def _one(repo: Path, url: str) -> Finished:
    events: list[AgentEvent] = []
    options = FixOptions(budget=Budget(turns=30, seconds=300))
    with (
        WorkCopy.create(repo) as work,
        PytestRunner(work.root, python=sys.executable) as tests,
    ):
        client = ResponsesClient(websocket_connector(url), ClientConfig(model="echo"))

        async def main() -> Finished:
            async with client:
                return await fix(work, tests, client, options, events.append)

        return asyncio.run(main())


def _row(repo: Path, results: list[Finished]) -> str:
    def spread(values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return f"{statistics.median(ms):.1f} ms ({ms[0]:.1f} to {ms[-1]:.1f})"

    per_turn = [r.per_turn_seconds for r in results]
    per_candidate = [
        max(0.0, r.agent_seconds - r.setup_seconds) / max(1, r.candidates) for r in results
    ]
    fixed = sum(r.outcome == "fixed" for r in results)
    return (
        f"| {repo.name} | {len(results)} | {fixed}/{len(results)} | "
        f"{statistics.median(r.turns for r in results):.0f} | "
        f"{statistics.median(r.candidates for r in results):.0f} | "
        f"{spread([r.setup_seconds for r in results])} | {spread(per_turn)} | "
        f"{spread(per_candidate)} |"
    )
