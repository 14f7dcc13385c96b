"""A live-server fuzz: garbage frames against ``codeagent serve`` beside a bystander's chain.

Starts ``codeagent serve --backend echo`` (default settings) with its stderr in a log file. One
bystander connection runs a chain of turns (``previous_response_id``) for the whole run and
checks each reply (the echo backend answers ``echo: TEXT``) and its time. Meanwhile
``--concurrency`` connections send ``--frames`` frames from generators: random bytes as binary
frames, text frames with invalid UTF-8, deep nesting, huge numbers, wrong types for every field
of a ``response.create``, unknown event types, ``function_call_output`` for calls that do not
exist, lone surrogates, valid creates with flipped, deleted or inserted bytes, and strings up to
the largest frame and just over it. Each frame gets its reply; after an ``error`` event a valid
create is sent on the same socket and must complete.

Closes the README and RFC 6455 document are expected, not failures: 1009 for a frame over
``--max-frame-bytes`` and 1007 for a text frame that is not UTF-8 (RFC 6455, section 8.1).
Binary frames are read like text frames (UTF-8 JSON). Any other close, or no reply within
``REPLY_TIMEOUT`` seconds, leaves the socket unusable.

    .venv/bin/python benchmarks/fuzz_server.py [--frames 10000] [--concurrency 6] [--seed 1]

Exits non-zero when a figure that must be zero is not: server crashes, bystander turns
disturbed, sockets left unusable, tracebacks in the server log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

MAX_FRAME = 16 * 1024 * 1024  # ServerConfig.max_frame_bytes
REPLY_TIMEOUT = 30.0
TERMINAL = {
    "response.completed",
    "response.failed",
    "response.incomplete",
    "error",
    "response.steer.failed",
}
EXPECTED_CLOSES = {1009: "oversize", 1007: "invalid_utf8"}  # close code -> the kind it answers
VALID = {"type": "response.create", "model": "m", "store": False, "input": "ping"}

Frame = tuple[str, str | bytes, bool]  # kind, payload, sent as a text frame


# -- generators ----------------------------------------------------------------------------------

CREATE_FIELDS = [
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "previous_response_id",
    "store",
    "temperature",
    "top_p",
    "max_output_tokens",
    "metadata",
    "stream",
    "parallel_tool_calls",
    "text",
    "reasoning",
    "generate",
    "stream_id",
    "prompt_cache_key",
    "truncation",
    "prompt_cache_options",
]
WRONG_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    "x",
    "",
    [],
    {},
    [1, "a"],
    {"a": 1},
    [{"type": 7}],
    {"type": "message"},
    10**40,
    -(10**40),
    "\u0000",
]
HUGE = [
    "1e400",
    "-1e400",
    "9" * 400,
    "-" + "9" * 400,
    "1" + "0" * 400 + ".5",
    "1e-400",
    "0." + "0" * 400 + "1",
    "123456789" * 50,
]
NUMERIC = ["temperature", "top_p", "max_output_tokens", "metadata.seed", "input"]
EVENT_TYPES = [
    "response.cancel",
    "session.update",
    "response.create.",
    "RESPONSE.CREATE",
    "response.steer",
    "",
    " ",
    "input_audio_buffer.append",
    "\u202e",
    "response",
]


def g_binary(rng: random.Random) -> Frame:
    return "binary_random", rng.randbytes(rng.choice([0, 1, 7, 64, 1024, 65536])), False


def g_binary_json(rng: random.Random) -> Frame:
    body = dict(VALID, input=f"binary {rng.random()}")
    return "binary_json", json.dumps(body).encode(rng.choice(["utf-8", "utf-16", "utf-32"])), False


def g_invalid_utf8(rng: random.Random) -> Frame:
    good = json.dumps(dict(VALID, input="X")).encode()
    bad = rng.choice(
        [
            b"\xff",
            b"\xc3\x28",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe2\x82",
            b"\xc0\xaf",
            rng.randbytes(16),
        ]
    )
    at = good.index(b"X")
    payload = good[:at] + bad + good[at + 1 :]
    try:
        payload.decode()
    except UnicodeDecodeError:
        return "invalid_utf8", payload, True
    return "invalid_utf8", b"\xff" + payload, True


def g_deep(rng: random.Random) -> Frame:
    depth = rng.choice([100, 1000, 10_000, 100_000])
    array = rng.random() < 0.5
    inner = "[" * depth + "]" * depth if array else '{"a":' * depth + "1" + "}" * depth
    where = rng.choice(["top", "input", "metadata", "tools"])
    text = inner if where == "top" else f'{{"type":"response.create","{where}":{inner}}}'
    return "deep_nesting", text, True


def g_huge_number(rng: random.Random) -> Frame:
    name = rng.choice(NUMERIC)
    number = rng.choice(HUGE)
    if name == "metadata.seed":
        body = f'{{"type":"response.create","input":"h","metadata":{{"seed":{number}}}}}'
    else:
        body = f'{{"type":"response.create","input":"h","{name}":{number}}}'
    return "huge_number", body, True


def g_wrong_type(rng: random.Random) -> Frame:
    body: dict[str, Any] = dict(VALID)
    for name in rng.sample(CREATE_FIELDS, rng.choice([1, 1, 2, 3])):
        body[name] = rng.choice(WRONG_VALUES)
    if rng.random() < 0.3:  # wrong types inside input items and tools
        item = {
            "type": rng.choice(["message", "function_call", "function_call_output", "x"]),
            "role": rng.choice([*WRONG_VALUES, "user"]),
            "content": rng.choice([*WRONG_VALUES, [{"type": "input_text", "text": 3}]]),
            "call_id": rng.choice(WRONG_VALUES),
            "output": rng.choice(WRONG_VALUES),
            "arguments": rng.choice(WRONG_VALUES),
            "name": rng.choice(WRONG_VALUES),
        }
        body["input"] = [item]
        body["tools"] = [
            {
                "type": "function",
                "name": rng.choice(WRONG_VALUES),
                "parameters": rng.choice(WRONG_VALUES),
            }
        ]
    return "wrong_type", json.dumps(body), True


def g_not_object(rng: random.Random) -> Frame:
    return "not_object", rng.choice(["1", "null", '"x"', "[]", "true", "", " ", "{", "}{"]), True


def g_unknown_event(rng: random.Random) -> Frame:
    body: dict[str, Any] = {"type": rng.choice(EVENT_TYPES + WRONG_VALUES[:6])}
    if rng.random() < 0.5:
        body["response_id"] = "resp_nope"
    return "unknown_event", json.dumps(body), True


def g_call_output(rng: random.Random) -> Frame:
    output = {
        "type": "function_call_output",
        "call_id": rng.choice(["call_nope", "", "call_1"]),
        "output": rng.choice(["3 passed", "", "x" * 5000]),
    }
    body = dict(VALID, input=[output])
    choice = rng.random()
    if choice < 0.4:
        body["previous_response_id"] = rng.choice(["resp_nope", "", "resp_" + "a" * 200])
    elif choice < 0.6:
        body["input"] = [output, output]
    return "call_output", json.dumps(body), True


def g_surrogate(rng: random.Random) -> Frame:
    lone = rng.choice(["\\ud800", "\\udfff", "\\udc00\\ud800", "a\\ud83d", "\\ud83d\\u0041"])
    where = rng.choice(["input", "instructions", "model", "metadata", "key"])
    if where == "metadata":
        text = f'{{"type":"response.create","input":"s","metadata":{{"k":"{lone}"}}}}'
    elif where == "key":
        text = f'{{"type":"response.create","input":"s","{lone}":1}}'
    else:
        text = f'{{"type":"response.create","input":"s","{where}":"{lone}"}}'
    return "lone_surrogate", text, True


def g_mutated(rng: random.Random) -> Frame:
    body: dict[str, Any] = dict(
        VALID,
        input=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "m"}]}
        ],
        temperature=0.5,
        max_output_tokens=8,
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    )
    data = bytearray(json.dumps(body).encode())
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        at = rng.randrange(len(data))
        op = rng.random()
        if op < 0.4:
            data[at] ^= 1 << rng.randrange(8)
        elif op < 0.7:
            del data[at]
        else:
            data.insert(at, rng.randrange(256))
    payload = bytes(data)
    try:
        return "mutated", payload.decode(), True
    except UnicodeDecodeError:
        return "mutated", payload, False  # not UTF-8: a binary frame (a text one is closed 1007)


def g_long_string(rng: random.Random) -> Frame:
    size = rng.choice([10_000, 100_000, 1_000_000])
    where = rng.choice(["model", "type", "previous_response_id", "tool_choice"])
    return "long_string", json.dumps({"type": "response.create", where: "a" * size}), True


def g_at_limit(rng: random.Random) -> Frame:
    head = '{"type":"response.create","input":7,"pad":"'
    pad = MAX_FRAME - len(head) - 2 - rng.choice([0, 1, 1000])
    return "at_limit", head + "a" * pad + '"}', True


def g_oversize(rng: random.Random) -> Frame:
    return "oversize", "a" * (MAX_FRAME + rng.choice([1, 100])), rng.random() < 0.5


GENERATORS: list[tuple[Callable[[random.Random], Frame], float]] = [
    (g_binary, 6),
    (g_binary_json, 3),
    (g_invalid_utf8, 6),
    (g_deep, 6),
    (g_huge_number, 10),
    (g_wrong_type, 20),
    (g_not_object, 4),
    (g_unknown_event, 8),
    (g_call_output, 8),
    (g_surrogate, 8),
    (g_mutated, 20),
    (g_long_string, 2),
]
RARE = [(g_at_limit, 1 / 2500), (g_oversize, 1 / 2500)]  # 16 MiB each: a few per run


def frames(rng: random.Random, count: int) -> Iterator[Frame]:
    """``count`` frames; at least one at the size limit and one over it when ``count`` >= 100."""
    makers, weights = zip(*GENERATORS, strict=True)
    forced = {count // 3: g_at_limit, 2 * count // 3: g_oversize} if count >= 100 else {}
    for n in range(count):
        if n in forced:
            yield forced[n](rng)
            continue
        for maker, chance in RARE:
            if rng.random() < chance:
                yield maker(rng)
                break
        else:
            yield rng.choices(makers, weights)[0](rng)


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Figures:
    tried: Counter[str] = field(default_factory=Counter)
    error_events: int = 0
    other_replies: int = 0
    documented_closes: Counter[int] = field(default_factory=Counter)
    unusable: list[str] = field(default_factory=list)
    bystander_turns: int = 0
    disturbed: list[str] = field(default_factory=list)
    turn_times: list[float] = field(default_factory=list)


async def terminal(ws: ClientConnection) -> dict[str, Any]:
    """The reply's last event (see ``TERMINAL``)."""
    while True:
        raw = await ws.recv()
        event = json.loads(raw)
        if event.get("type") in TERMINAL:
            return dict(event)


async def connect(url: str) -> ClientConnection:
    return await websockets.connect(url, max_size=None, ping_interval=None)


async def fuzzer(url: str, work: Iterator[Frame], figures: Figures) -> None:
    ws = await connect(url)
    try:
        for kind, payload, text in work:
            figures.tried[kind] += 1
            try:
                await ws.send(payload, text=text)
                reply = await asyncio.wait_for(terminal(ws), REPLY_TIMEOUT)
                if reply["type"] != "error":
                    figures.other_replies += 1
                    continue
                figures.error_events += 1
                await ws.send(json.dumps(VALID))
                after = await asyncio.wait_for(terminal(ws), REPLY_TIMEOUT)
                if after["type"] != "response.completed":
                    figures.unusable.append(f"{kind}: valid create after an error got {after}")
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code is not None and EXPECTED_CLOSES.get(code) == kind:
                    figures.documented_closes[code] += 1
                else:
                    figures.unusable.append(f"{kind}: closed {code} ({exc}) on {payload[:80]!r}")
                ws = await connect(url)
            except TimeoutError:
                figures.unusable.append(
                    f"{kind}: no reply in {REPLY_TIMEOUT} s to {payload[:80]!r}"
                )
                await ws.close()
                ws = await connect(url)
    finally:
        await ws.close()


async def bystander(url: str, stop: asyncio.Event, figures: Figures) -> None:
    """A chain of turns until ``stop``; each reply checked and timed."""
    ws = await connect(url)
    try:
        previous: str | None = None
        n = 0
        while not stop.is_set() or n < 5:
            n += 1
            body: dict[str, Any] = {
                "type": "response.create",
                "model": "m",
                "input": f"turn {n} of the chain",
            }
            if previous:
                body["previous_response_id"] = previous
            start = time.monotonic()
            await ws.send(json.dumps(body))
            try:
                reply = await asyncio.wait_for(terminal(ws), REPLY_TIMEOUT)
            except (TimeoutError, ConnectionClosed) as exc:
                figures.disturbed.append(f"turn {n}: {exc!r}")
                return
            elapsed = time.monotonic() - start
            figures.bystander_turns += 1
            figures.turn_times.append(elapsed)
            response = reply.get("response", {})
            texts = [c.get("text") for o in response.get("output", []) for c in o["content"]]
            if reply["type"] != "response.completed" or texts != [f"echo: {body['input']}"]:
                figures.disturbed.append(f"turn {n}: {json.dumps(reply)[:300]}")
            else:
                previous = response["id"]
            settled = figures.turn_times[:20]
            bound = max(1.0, 10 * statistics.median(settled))
            if n > 20 and elapsed > bound:
                figures.disturbed.append(f"turn {n}: {elapsed:.2f} s (bound {bound:.2f} s)")
    finally:
        await ws.close()


async def fuzz(url: str, count: int, concurrency: int, seed: int) -> Figures:
    """Send ``count`` frames on ``concurrency`` connections while a bystander chains turns."""
    figures = Figures()
    stop = asyncio.Event()
    watcher = asyncio.create_task(bystander(url, stop, figures))
    await asyncio.sleep(0.2)  # the bystander's first turns set its time bound on an idle server
    work = frames(random.Random(seed), count)
    try:
        await asyncio.gather(*(fuzzer(url, work, figures) for _ in range(concurrency)))
    finally:
        stop.set()
        await watcher
    return figures


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def table(figures: Figures, crashes: int, tracebacks: int, wall: float) -> str:
    rows = [("frames tried", str(sum(figures.tried.values())))]
    rows += [(f"&nbsp;&nbsp;{kind}", str(n)) for kind, n in sorted(figures.tried.items())]
    closes = ", ".join(f"{n} x {code}" for code, n in sorted(figures.documented_closes.items()))
    median = statistics.median(figures.turn_times) if figures.turn_times else 0.0
    slowest = max(figures.turn_times, default=0.0)
    rows += [
        ("`error` events (each followed by a valid create)", str(figures.error_events)),
        ("other replies (completed, incomplete, steer.failed)", str(figures.other_replies)),
        ("documented closes", closes or "0"),
        ("sockets left unusable", str(len(figures.unusable))),
        (
            f"bystander turns (median {median * 1000:.0f} ms, max {slowest * 1000:.0f} ms)",
            str(figures.bystander_turns),
        ),
        ("bystander turns disturbed", str(len(figures.disturbed))),
        ("server crashes", str(crashes)),
        ("tracebacks in the server log", str(tracebacks)),
        ("wall time", f"{wall:.1f} s"),
    ]
    return "\n".join(["| figure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="fuzz-server-")) / "serve.log"
    requested = str(args.port)
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "codeagent", "serve", "--backend", "echo", "--port", requested],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("CODEAGENT_")},
        )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        if "http://127.0.0.1:" not in banner:
            sys.exit(f"codeagent serve did not start: {banner!r}; its log: {log}")
        port = int(banner.split("http://127.0.0.1:")[1].split("/")[0])
        url = f"ws://127.0.0.1:{port}/v1/responses"
        start = time.monotonic()
        figures = asyncio.run(fuzz(url, args.frames, args.concurrency, args.seed))
        wall = time.monotonic() - start
        crashes = 0 if server.poll() is None and healthy(port) else 1
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
    tracebacks = log.read_text(errors="replace").count("Traceback")
    print(f"`{' '.join(sys.argv)}` (seed {args.seed}, concurrency {args.concurrency}; log {log})\n")
    print(table(figures, crashes, tracebacks, wall))
    for line in (figures.unusable + figures.disturbed)[:20]:
        print(f"- {line}")
    if crashes or tracebacks or figures.unusable or figures.disturbed:
        sys.exit(1)


if __name__ == "__main__":
    main()
