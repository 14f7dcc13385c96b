"""The llama backend with the real bundled model behind a real `codeagent serve` process.

Short prompts and a few greedy tokens keep each test to seconds. Expected token counts come from
the same model's tokenizer, loaded here: ``cached_tokens`` must be exactly the prefix reused.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from codeagent.errors import ContextLengthExceeded
from codeagent.model import chat
from codeagent.model.llama import LlamaModel
from codeagent.model.weights import bundled_model_path
from codeagent.protocol.generation import Prompt
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Item, user_message
from codeagent.protocol.request import FunctionTool
from codeagent.server.config import ServerConfig
from codeagent.server.llama import LlamaBackend, LlamaSettings
from codeagent.server.run import BackgroundServer
from codeagent.transport.client import ClientConfig, ResponsesClient, TurnResult
from codeagent.transport.sse import http_connector
from codeagent.transport.websocket import websocket_connector
from tests.conftest import Served, start_serve

INSTRUCTIONS = "You are a terse assistant."
WEATHER = FunctionTool(
    "get_weather",
    "Get the current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def tokenizer() -> Iterator[LlamaModel]:
    model = LlamaModel(bundled_model_path())
    yield model
    model.close()


def stop(server: Served) -> None:
    server.process.terminate()
    server.process.wait(10)


@pytest.fixture(scope="module")
def llama() -> Iterator[Served]:
    """Room for four connections' KV caches of 1,024 tokens (22.5 MiB each)."""
    server = start_serve("--backend", "llama", "--ctx", "1024", "--cache-mb", "100")
    yield server
    stop(server)


@pytest.fixture(scope="module")
def llama_one_slot() -> Iterator[Served]:
    """Room for one KV cache only: a second connection evicts the first one's state."""
    server = start_serve("--backend", "llama", "--ctx", "1024", "--cache-mb", "30")
    yield server
    stop(server)


def cfg(
    max_output_tokens: int = 1, instructions: str | None = INSTRUCTIONS, **kw: object
) -> ClientConfig:
    return ClientConfig(
        model="SmolLM2-135M-Instruct",
        instructions=instructions,
        temperature=0.0,
        max_output_tokens=max_output_tokens,
        **kw,  # type: ignore[arg-type]
    )


def n_tokens(tokenizer: LlamaModel, items: list[Item], *, prefix_only: bool = False) -> int:
    prompt = Prompt(INSTRUCTIONS, (), tuple(items))
    text = chat.render_prefix(prompt) if prefix_only else chat.render(prompt)
    return len(tokenizer.tokenize(text))


async def two_turns(url: str, first: str, second: str, out: int = 1) -> list[TurnResult]:
    async with ResponsesClient(websocket_connector(url), cfg(out)) as client:
        return [
            await client.turn([user_message(first)]),
            await client.turn([user_message(second)]),
        ]


async def test_a_continuation_reuses_exactly_the_previous_prompt(
    llama: Served, tokenizer: LlamaModel
) -> None:
    first, second = await two_turns(llama.ws_url, "Name a colour.", "Name another one.")
    expected_first = n_tokens(tokenizer, [user_message("Name a colour.")])
    assert first.stats.input_tokens == expected_first
    assert first.stats.cached_tokens == 0
    # One output token was sampled and never decoded into the cache: the kept state is exactly
    # the first prompt, and the second prompt starts with it.
    assert second.stats.cached_tokens == expected_first
    reply = first.response.output_text
    assert second.stats.input_tokens == n_tokens(
        tokenizer,
        [
            user_message("Name a colour."),
            *first.response.output,
            user_message("Name another one."),
        ],
    )
    assert reply


async def test_generated_tokens_are_reused_too(llama: Served, tokenizer: LlamaModel) -> None:
    first, second = await two_turns(llama.ws_url, "Count to five.", "Again.", out=8)
    prompt = n_tokens(tokenizer, [user_message("Count to five.")])
    assert first.stats.output_tokens == 8
    # The kept state is the prompt and the 7 decoded output tokens; the continuation renders
    # the reply back, and its tokens match as far as the tokenizer writes them the same way.
    assert prompt < second.stats.cached_tokens <= prompt + 7


async def test_a_warmup_prefills_the_static_prefix(llama: Served, tokenizer: LlamaModel) -> None:
    context = user_message("def add(a, b):\n    return a - b\n" * 8)
    async with ResponsesClient(websocket_connector(llama.ws_url), cfg()) as client:
        warm = await client.warmup([context])
        assert warm is not None
        assert warm.response.output == ()
        assert warm.stats.cached_tokens == 0
        turn = await client.turn([user_message("What is wrong?")])
    assert warm.stats.input_tokens == n_tokens(tokenizer, [context], prefix_only=True)
    assert turn.stats.cached_tokens == warm.stats.input_tokens
    assert turn.response.output_text


async def test_eviction_costs_a_full_prefill_and_the_same_answer(llama_one_slot: Served) -> None:
    url = llama_one_slot.ws_url
    async with ResponsesClient(websocket_connector(url), cfg(6)) as a:
        await a.turn([user_message("Say something about rivers.")])
        async with ResponsesClient(websocket_connector(url), cfg(6)) as b:
            other = await b.turn([user_message("Say something about mountains.")])
            assert other.stats.cached_tokens == 0
        # b took the only KV cache: a's continuation is prefilled from scratch.
        evicted = await a.turn([user_message("And about lakes?")])
        assert evicted.stats.cached_tokens == 0
        assert evicted.stats.chained  # the server still has the chain; only the KV is gone
        conversation = a.history
    # The same conversation sent in full on a fresh connection gives the same greedy answer.
    async with ResponsesClient(websocket_connector(url), cfg(6)) as fresh:
        again = await fresh.turn(conversation[:-1])
    assert again.response.output_text == evicted.response.output_text
    assert again.stats.input_tokens == evicted.stats.input_tokens


async def test_concurrent_connections_keep_separate_states(llama: Served) -> None:
    solo_a = await two_turns(llama.ws_url, "Tell me about cats.", "More.")
    solo_b = await two_turns(llama.ws_url, "Tell me about ships.", "More.")
    both = await asyncio.gather(
        two_turns(llama.ws_url, "Tell me about cats.", "More."),
        two_turns(llama.ws_url, "Tell me about ships.", "More."),
    )
    for solo, together in zip((solo_a, solo_b), both, strict=True):
        assert [r.stats.cached_tokens for r in together] == [r.stats.cached_tokens for r in solo]
        assert [r.response.output_text for r in together] == [r.response.output_text for r in solo]
    # The same first prompt on two connections: the second does not reuse the first's cache.
    async with (
        ResponsesClient(websocket_connector(llama.ws_url), cfg()) as one,
        ResponsesClient(websocket_connector(llama.ws_url), cfg()) as two,
    ):
        await one.turn([user_message("Tell me about cats.")])
        copy = await two.turn([user_message("Tell me about cats.")])
    assert copy.stats.cached_tokens == 0


async def test_http_requests_reuse_the_shared_prefix_cache(
    llama: Served, tokenizer: LlamaModel
) -> None:
    config = cfg(store=True)
    async with ResponsesClient(http_connector(llama.base_url), config) as client:
        first = await client.turn([user_message("Name a fruit.")])
        second = await client.turn([user_message("Another.")])
    assert second.stats.chained
    assert second.stats.cached_tokens == n_tokens(tokenizer, [user_message("Name a fruit.")])
    assert first.stats.input_tokens == second.stats.cached_tokens


async def test_a_tool_call_round_trip_parses_or_degrades_to_text(llama: Served) -> None:
    config = cfg(40, instructions=None, tools=(WEATHER,))
    call_text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    async with ResponsesClient(websocket_connector(llama.ws_url), config) as client:
        result = await client.turn([user_message(f"Repeat exactly: {call_text}")])
        calls = [i for i in result.response.output if isinstance(i, FunctionCall)]
        # With the pinned model and greedy sampling it copies the call: parsed into an item.
        assert [c.name for c in calls] == ["get_weather"]
        assert json.loads(calls[0].arguments) == {"city": "Paris"}
        assert calls[0].call_id
        answer = await client.turn([FunctionCallOutput(calls[0].call_id, "sunny, 24 C")])
        assert answer.response.status == "completed"
        assert answer.stats.cached_tokens > 0
        # A call of a tool the request did not offer comes back as the text the model wrote.
        bad = call_text.replace("get_weather", "delete_files")
        degraded = await client.turn([user_message(f"Repeat exactly: {bad}")])
    assert not [i for i in degraded.response.output if isinstance(i, FunctionCall)]
    assert degraded.response.status in ("completed", "incomplete")
    assert degraded.response.output_text


@pytest.fixture(scope="module")
def llama_2k() -> Iterator[Served]:
    """KV caches of 2,048 tokens: room for a prefill of eight compute steps."""
    server = start_serve("--backend", "llama", "--ctx", "2048", "--cache-mb", "100")
    yield server
    stop(server)


async def test_a_long_prefill_does_not_stall_another_connections_stream(
    llama_2k: Served, tokenizer: LlamaModel
) -> None:
    """Model work runs in steps queued in arrival order (256 prompt tokens, or one output token,
    a step): B's turn, sent while A's ~1,900 prompt tokens (8 steps) are being prefilled, needs
    four steps of its own (tokenize, start, prefill, first token), each queued behind at most one
    of A's, so its first token comes before A's prefill is over. Had a prefill been one piece of
    work, B would wait for all of it and stream after A. (With ~900 tokens, 4 steps, the margin
    was one step and the test failed about once in 14 runs.)"""
    long_text = "The quick brown fox jumps over the lazy dog. " * 180
    assert 1800 < n_tokens(tokenizer, [user_message(long_text)]) < 2000
    url = llama_2k.ws_url
    async with (
        ResponsesClient(websocket_connector(url), cfg(1)) as a,
        ResponsesClient(websocket_connector(url), cfg(4)) as b,
    ):
        await b.turn([user_message("Warm up the connection.")])
        a_start = time.monotonic()
        a_task = asyncio.create_task(a.turn([user_message(long_text)]))
        await asyncio.sleep(0.3)  # A's prefill is under way
        b_start = time.monotonic()
        short = await b.turn([user_message("Name a colour.")])
        long = await a_task
    assert long.stats.cached_tokens == 0
    assert short.stats.time_to_first_token is not None
    assert long.stats.time_to_first_token is not None
    b_first = b_start + short.stats.time_to_first_token
    a_first = a_start + long.stats.time_to_first_token
    assert b_first < a_first


async def test_a_prompt_over_the_context_is_a_400_and_keeps_the_chain(llama: Served) -> None:
    async with ResponsesClient(websocket_connector(llama.ws_url), cfg()) as client:
        first = await client.turn([user_message("Hello.")])
        with pytest.raises(ContextLengthExceeded) as info:
            await client.turn([user_message("lorem ipsum dolor " * 600)])
        assert info.value.info.status == 400
        assert "does not fit the context of 1024" in info.value.info.message
        assert len(client.drop_pending()) == 1
        again = await client.turn([user_message("Still there?")])
    assert again.response.output_text
    assert again.stats.handshakes == 0  # the same socket
    # The response it continued from was kept: chained, no resend, its prefix still cached.
    assert (again.stats.chained, again.stats.retried) == (True, False)
    assert again.response.previous_response_id == first.response.id
    assert again.stats.cached_tokens >= first.stats.input_tokens
    body = {"model": "m", "input": "lorem ipsum dolor " * 600, "stream": True}
    async with httpx.AsyncClient() as http:
        reply = await http.post(llama.base_url + "/responses", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "/nonexistent.gguf"], "no such file"),
        (["--model", __file__], "not a GGUF file"),
        (["--cache-mb", "1"], "cannot hold one KV cache"),
        (["--ctx", "0"], "ctx must be positive"),
    ],
)
def test_bad_llama_settings_are_clear_errors(flags: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "serve", "--backend", "llama", "--port", "0", *flags],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr


async def test_a_client_gone_mid_prefill_frees_the_model_at_the_next_step() -> None:
    """A ~1,900-token prefill is 8 compute steps (~8 s here). A client that sends it and drops
    its TCP connection must not keep the model busy: its turn is cancelled at the next step and
    its context released. (Before: the server prefilled to the end and noticed at its first
    send; four such clients made the next short request wait 14 s.)"""
    backend = LlamaBackend(LlamaSettings(ctx=2048, cache_mb=100))
    try:
        with BackgroundServer(backend, ServerConfig(port=0)) as running:
            ws = await websockets.connect(running.ws_url)
            text = "The quick brown fox jumps over the lazy dog. " * 180
            frame = {"type": "response.create", "model": "m", "input": text, "temperature": 0}
            await ws.send(json.dumps(frame))
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert first["type"] == "response.created"
            # The pool belongs to the server's thread and has no event to await: poll it.
            while not any(slot.busy for slot in backend.pool.slots):  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # until the prefill is under way
            ws.transport.abort()
            gone = time.monotonic()
            while any(slot.busy for slot in backend.pool.slots):
                assert time.monotonic() - gone < 4.0, "the abandoned prefill kept the model"
                await asyncio.sleep(0.05)
            assert all(slot.owner is None for slot in backend.pool.slots)  # context released
    finally:
        backend.close()
