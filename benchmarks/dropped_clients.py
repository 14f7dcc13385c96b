"""What clients that send a long prompt and vanish cost the next client, on the llama backend.

Starts ``codeagent serve --backend llama`` (the bundled model), times a short request (10 output
tokens) on an idle server, then has N clients each send a ~1,700-token prompt and drop their TCP
connection 50 ms later, and times the same short request right after. A server that cancels an
abandoned turn at its next compute step answers it nearly as fast as when idle; one that
prefills every abandoned prompt to the end makes it wait for all of them.

    .venv/bin/python benchmarks/dropped_clients.py [--clients 4] [--runs 3]

Run it on an otherwise idle machine: llama.cpp's threads compete for the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import websockets

LONG = "The quick brown fox jumps over the lazy dog. " * 170  # ~1,700 tokens
SHORT = {"type": "response.create", "model": "m", "input": "Name a colour.",
         "temperature": 0, "max_output_tokens": 10}  # fmt: skip


async def timed_short(url: str) -> float:
    async with websockets.connect(url) as ws:
        start = time.monotonic()
        await ws.send(json.dumps(SHORT))
        while json.loads(await ws.recv())["type"] not in ("response.completed", "error",
                                                          "response.incomplete"):  # fmt: skip
            pass
        return time.monotonic() - start


async def drop(url: str) -> None:
    ws = await websockets.connect(url)
    await ws.send(json.dumps({"type": "response.create", "model": "m", "input": LONG}))
    await asyncio.sleep(0.05)
    ws.transport.abort()


async def measure(url: str, clients: int, runs: int) -> tuple[list[float], list[float]]:
    await timed_short(url)  # first use: the model's buffers
    idle, after = [], []
    for _ in range(runs):
        idle.append(await timed_short(url))
        await asyncio.gather(*(drop(url) for _ in range(clients)))
        after.append(await timed_short(url))
        await asyncio.sleep(20)  # let a server that does not cancel finish its backlog
    return idle, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "codeagent", "serve", "--backend", "llama", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        port = int(banner.split("http://127.0.0.1:")[1].split("/")[0])
        url = f"ws://127.0.0.1:{port}/v1/responses"
        idle, after = asyncio.run(measure(url, args.clients, args.runs))
    finally:
        server.terminate()
        server.wait(10)
    print(f"| short request (10 tokens) | median | min | max |  ({args.runs} runs)")
    print("|---|---:|---:|---:|")
    for name, xs in (("idle server", idle), (f"after {args.clients} dropped clients", after)):
        print(f"| {name} | {statistics.median(xs):.2f} s | {min(xs):.2f} s | {max(xs):.2f} s |")


if __name__ == "__main__":
    main()
