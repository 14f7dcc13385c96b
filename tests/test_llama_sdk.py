"""Must show 3 of the llama issue: the official `openai` SDK against the llama backend, the same
calls as against the deterministic one (tests/test_openai_sdk.py); only the words differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import BadRequestError, OpenAI

from tests.conftest import Served, start_serve
from tests.test_openai_sdk import (
    assert_not_found,
    call_round_trip,
    until_done,
    validated,
    warmup_then_ask,
)

SHORT = {"temperature": 0.0, "max_output_tokens": 6}
# The pinned 135M model, greedy, copies this line as a call (it does not call tools on its own:
# DESIGN.md's guided mode does not rely on it). The words are model-specific; the wire is not.
CALL = '<tool_call>{"name": "run_tests", "arguments": {"path": "tests/"}}</tool_call>'


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    server: Served = start_serve("--backend", "llama", "--ctx", "1024", "--cache-mb", "100")
    yield OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    server.process.terminate()
    server.process.wait(10)


def test_models_lists_the_bundled_model(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["SmolLM2-135M-Instruct"]


def test_multi_turn_chain_with_store_false(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="Name a colour.", **SHORT)
        first = until_done(conn)[-1]
        assert first.type in ("response.completed", "response.incomplete")
        assert first.response.output_text
        assert first.response.usage.input_tokens_details.cached_tokens == 0
        previous = first.response
        for question in ("Another.", "And one more."):
            conn.response.create(
                model="m",
                store=False,
                previous_response_id=previous.id,
                input=question,
                **SHORT,
            )
            done = until_done(conn)[-1]
            assert done.response.previous_response_id == previous.id
            cached = done.response.usage.input_tokens_details.cached_tokens
            assert cached >= previous.usage.input_tokens  # the whole earlier prompt, at least
            previous = done.response


def test_function_call_round_trip(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        call, done = call_round_trip(
            conn, f"Repeat exactly: {CALL}", "3 passed", temperature=0.0, max_output_tokens=40
        )
    assert call.name == "run_tests"
    assert json.loads(call.arguments) == {"path": "tests/"}
    assert done.response.status in ("completed", "incomplete")
    assert done.response.usage.input_tokens_details.cached_tokens > 0


def test_previous_response_not_found(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", previous_response_id="resp_nonexistent", input="hi")
        assert_not_found(until_done(conn)[-1])
        conn.response.create(model="m", store=False, input="Still here?", **SHORT)
        ephemeral = until_done(conn)[-1]
        assert ephemeral.type in ("response.completed", "response.incomplete")
    with client.responses.connect() as conn:
        conn.response.create(
            model="m", store=False, previous_response_id=ephemeral.response.id, input="?"
        )
        assert_not_found(until_done(conn)[-1])


def test_generate_false_warmup_chains(client: OpenAI) -> None:
    static = "def add(a, b):\n    return a - b\n" * 10
    with client.responses.connect() as conn:
        _, done = warmup_then_ask(conn, static, "Fix add.", **SHORT)
    assert done.output_text


def test_http_streaming_events_parse_into_sdk_types(client: OpenAI) -> None:
    stream = client.responses.create(model="m", input="Say hi.", stream=True, **SHORT)
    events: list[Any] = [validated(e) for e in stream]
    assert events[0].type == "response.created"
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert "response.output_text.delta" in [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    with pytest.raises(BadRequestError) as info:
        client.responses.create(model="m", input="x", previous_response_id="resp_missing")
    assert info.value.code == "previous_response_not_found"
