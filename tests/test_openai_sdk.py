"""Must show 1: the official `openai` SDK, a real third-party client, against `codeagent serve`."""

from __future__ import annotations

from typing import Any

import pytest
from openai import BadRequestError, OpenAI

from tests.conftest import Served

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "run_tests",
        "description": "Run the test suite.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]


def validated(event: Any) -> Any:
    """The SDK only constructs events; validate each against the type it chose, strictly."""
    assert type(event).__module__.startswith("openai.types.responses"), type(event)
    type(event).model_validate(event.model_dump(exclude_unset=True))
    return event


@pytest.fixture
def client(served: Served) -> OpenAI:
    return OpenAI(base_url=served.base_url, api_key="unused", max_retries=0)


def until_done(conn: Any) -> list[Any]:
    """Events of one response, each validated (not just constructed) against the SDK's types."""
    events = []
    for event in conn:
        events.append(validated(event))
        if event.type in ("response.completed", "response.failed", "response.incomplete", "error"):
            return events
    raise AssertionError("connection closed mid-response")


def test_multi_turn_chain_with_store_false(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="first question", tools=TOOLS)
        first = until_done(conn)[-1]
        assert first.type == "response.completed"
        assert first.response.output_text == "echo: first question"
        assert first.response.store is False

        for n in range(2, 5):
            conn.response.create(
                model="m",
                store=False,
                previous_response_id=first.response.id,
                input=f"question {n}",
                tools=TOOLS,
            )
            done = until_done(conn)[-1]
            assert done.type == "response.completed"
            assert done.response.previous_response_id == first.response.id
            assert done.response.output_text == f"echo: question {n}"
            # The chain is really reused: the whole first turn is a cached prefix.
            usage = done.response.usage
            assert usage.input_tokens_details.cached_tokens >= first.response.usage.input_tokens
            assert usage.input_tokens > usage.input_tokens_details.cached_tokens
            first = done


def test_event_order_and_sequence_numbers(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="order please")
        events = until_done(conn)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,  # "echo", ":", " order", " please"
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))


def call_round_trip(conn: Any, prompt: str, output: str, **create: Any) -> tuple[Any, Any]:
    """Ask with ``prompt``, expect one function call streamed as such, answer it with
    ``output`` on the chain; returns the call and the answer's last event."""
    conn.response.create(model="m", store=False, tools=TOOLS, input=prompt, **create)
    events = until_done(conn)
    types = [e.type for e in events]
    assert "response.function_call_arguments.delta" in types
    assert "response.function_call_arguments.done" in types
    call = events[-1].response.output[0]
    assert call.type == "function_call"
    conn.response.create(
        model="m",
        store=False,
        tools=TOOLS,
        previous_response_id=events[-1].response.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": output}],
        **create,
    )
    return call, until_done(conn)[-1]


def test_function_call_round_trip(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        call, done = call_round_trip(conn, '/call run_tests {"path": "tests/"}', "3 passed")
    assert call.name == "run_tests"
    assert call.arguments == '{"path": "tests/"}'
    assert done.type == "response.completed"
    assert done.response.output_text == "run_tests returned: 3 passed"


def assert_not_found(event: Any) -> None:
    assert event.type == "error"
    assert event.status == 400
    assert event.error.code == "previous_response_not_found"
    assert event.error.type == "invalid_request_error"
    assert event.error.param == "previous_response_id"


def test_unknown_previous_response_id(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", previous_response_id="resp_nonexistent", input="hi")
        assert_not_found(until_done(conn)[-1])
        # The socket stays usable.
        conn.response.create(model="m", input="still here")
        assert until_done(conn)[-1].response.output_text == "echo: still here"


def test_store_false_id_is_gone_on_a_new_connection(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="remember me")
        ephemeral = until_done(conn)[-1].response.id
        conn.response.create(model="m", store=True, input="keep me")
        stored = until_done(conn)[-1].response.id
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, previous_response_id=ephemeral, input="?")
        assert_not_found(until_done(conn)[-1])
        # store=true outlives the connection.
        conn.response.create(model="m", store=False, previous_response_id=stored, input="again")
        assert until_done(conn)[-1].type == "response.completed"


def test_failed_continuation_evicts_its_parent(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, tools=TOOLS, input="/call run_tests {}")
        parent = until_done(conn)[-1].response
        conn.response.create(
            model="m",
            store=False,
            previous_response_id=parent.id,
            input=[{"type": "function_call_output", "call_id": "call_wrong", "output": "x"}],
        )
        error = until_done(conn)[-1]
        assert error.type == "error"
        assert error.status == 400
        assert "call_wrong" in error.error.message
        conn.response.create(
            model="m",
            store=False,
            previous_response_id=parent.id,
            input=[
                {
                    "type": "function_call_output",
                    "call_id": parent.output[0].call_id,
                    "output": "ok",
                }
            ],
        )
        assert_not_found(until_done(conn)[-1])


def test_backend_failure_is_response_failed_and_evicts(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="parent")
        parent = until_done(conn)[-1].response.id
        conn.response.create(model="m", store=False, previous_response_id=parent, input="/fail")
        failed = until_done(conn)[-1]
        assert failed.type == "response.failed"
        assert failed.response.status == "failed"
        assert failed.response.error.code == "server_error"
        conn.response.create(model="m", store=False, previous_response_id=parent, input="retry")
        assert_not_found(until_done(conn)[-1])


def warmup_then_ask(conn: Any, static: str, question: str, **create: Any) -> tuple[Any, Any]:
    """A ``generate: false`` warmup of ``static`` (only lifecycle events, no output), then
    ``question`` chained on its id, whose cached tokens are the whole warmup; returns both."""
    conn.response.create(model="m", store=False, generate=False, input=static)
    warm = until_done(conn)
    assert [e.type for e in warm] == ["response.created", "response.in_progress",
                                      "response.completed"]  # fmt: skip
    warmup = warm[-1].response
    assert warmup.output == []
    assert warmup.usage.output_tokens == 0
    conn.response.create(
        model="m", store=False, previous_response_id=warmup.id, input=question, **create
    )
    done = until_done(conn)[-1].response
    assert done.usage.input_tokens_details.cached_tokens == warmup.usage.input_tokens
    return warmup, done


def test_generate_false_warmup_chains(client: OpenAI) -> None:
    static = "def add(a, b):\n    return a - b\n" * 20
    with client.responses.connect() as conn:
        warmup, done = warmup_then_ask(conn, static, "fix add")
    assert warmup.usage.input_tokens > 100
    assert done.output_text == "echo: fix add"


def test_http_streaming_events_parse_into_sdk_types(client: OpenAI) -> None:
    stream = client.responses.create(model="m", input="over http", tools=TOOLS, stream=True)
    events = list(stream)
    for event in events:
        validated(event)
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "echo: over http"
    assert [e.sequence_number for e in events] == list(range(len(events)))

    call_stream = client.responses.create(
        model="m", input="/call run_tests {}", tools=TOOLS, stream=True
    )
    done = list(call_stream)[-1]
    assert done.response.output[0].type == "function_call"


def test_http_chain_with_store_true_and_errors(client: OpenAI) -> None:
    first = client.responses.create(model="m", input="one")
    assert first.output_text == "echo: one"
    second = client.responses.create(model="m", input="two", previous_response_id=first.id)
    assert second.output_text == "echo: two"
    with pytest.raises(BadRequestError) as info:
        client.responses.create(model="m", input="x", previous_response_id="resp_missing")
    assert info.value.status_code == 400
    assert info.value.code == "previous_response_not_found"
