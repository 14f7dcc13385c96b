"""The upstream backend: a Chat Completions endpoint behind our server gets WebSocket mode.

A real `codeagent serve --backend upstream` process in front of a fake Chat Completions server
on a real socket; the official SDK and our client talk to the front."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from codeagent.protocol.generation import Prompt
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, user_message
from codeagent.protocol.request import FunctionTool
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.server.upstream import ChunkReader, chat_request
from codeagent.testing.chat_upstream import FakeChatUpstream
from tests.conftest import Served, start_serve
from tests.test_openai_sdk import call_round_trip, until_done

KEY = "sk-upstream-secret-1234"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeChatUpstream, str]]:
    fake = FakeChatUpstream(api_key=KEY)
    with BackgroundServer(EchoBackend(), ServerConfig(port=0), app=fake.app()) as running:
        yield fake, running.base_url


@pytest.fixture(scope="module")
def front(upstream: tuple[FakeChatUpstream, str]) -> Iterator[Served]:
    os.environ["UPSTREAM_TEST_KEY"] = KEY
    try:
        server = start_serve(
            "--upstream-url", upstream[1], "--upstream-key-env", "UPSTREAM_TEST_KEY"
        )
    finally:
        del os.environ["UPSTREAM_TEST_KEY"]
    yield server
    server.process.terminate()
    output, _ = server.process.communicate(timeout=10)
    assert KEY not in output


@pytest.fixture
def client(front: Served) -> OpenAI:
    return OpenAI(base_url=front.base_url, api_key="unused", max_retries=0)


def test_websocket_chain_over_a_chat_completions_upstream(
    client: OpenAI, upstream: tuple[FakeChatUpstream, str]
) -> None:
    fake, _ = upstream
    with client.responses.connect() as conn:
        conn.response.create(model="gpt-x", store=False, input="first", instructions="Be brief.")
        first = until_done(conn)[-1]
        assert first.response.output_text == "echo: first"
        conn.response.create(
            model="gpt-x",
            store=False,
            previous_response_id=first.response.id,
            input="second",
            instructions="Be brief.",
        )
        second = until_done(conn)[-1].response
    assert second.output_text == "echo: second"
    # The upstream got the whole conversation, as Chat Completions needs, under the request's
    # model; its own prefix cache reported the earlier turn as cached.
    sent = fake.requests[-1]
    assert sent["model"] == "gpt-x"
    assert sent["stream"] is True
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "Be brief."),
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "second"),
    ]
    assert second.usage.input_tokens_details.cached_tokens > 0


def test_tool_call_round_trip_through_the_upstream(
    client: OpenAI, upstream: tuple[FakeChatUpstream, str]
) -> None:
    fake, _ = upstream
    with client.responses.connect() as conn:
        call, done = call_round_trip(conn, '/call run_tests {"path": "tests/"}', "3 passed")
    assert call.name == "run_tests"
    assert json.loads(call.arguments) == {"path": "tests/"}
    assert done.response.output_text == "run_tests returned: 3 passed"
    sent = fake.requests[-1]
    assert sent["tools"][0]["function"]["name"] == "run_tests"
    assert sent["messages"][-2]["tool_calls"][0]["id"] == call.call_id
    assert sent["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call.call_id,
        "content": "3 passed",
    }


def test_upstream_failure_is_response_failed_without_the_key(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input="/fail please")
        failed = until_done(conn)[-1]
    assert failed.type == "response.failed"
    assert "upstream answered 500: The upstream was asked to fail." in failed.response.error.message
    assert KEY not in failed.response.error.message


def test_a_wrong_key_and_a_dead_upstream_are_clear(
    upstream: tuple[FakeChatUpstream, str],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEAGENT_")}
    for url, expected in (
        (upstream[1], "upstream answered 401: Incorrect API key provided."),
        ("http://127.0.0.1:9/v1", "ConnectError"),
    ):
        served = start_serve("--upstream-url", url, "--upstream-key-env", "NO_SUCH_VARIABLE")
        try:
            with OpenAI(base_url=served.base_url, api_key="x", max_retries=0) as sdk:
                stream = sdk.responses.create(model="m", input="hi", stream=True)
                last = list(stream)[-1]
            assert last.type == "response.failed"
            assert expected in last.response.error.message
        finally:
            served.process.terminate()
            served.process.wait(10)
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "serve", "--backend", "upstream", "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs --upstream-url" in done.stderr


def test_chat_request_and_chunk_reader_shapes() -> None:
    tool = FunctionTool("run_tests", "Run.", {"type": "object"})
    prompt = Prompt(
        None,
        (tool,),
        (
            user_message("go"),
            FunctionCall("c1", "run_tests", "{}"),
            FunctionCall("c2", "run_tests", '{"k": 1}'),
            FunctionCallOutput("c1", "ok"),
            FunctionCallOutput("c2", "ok too"),
        ),
        temperature=0.0,
        max_output_tokens=5,
        seed=7,
    )
    body = chat_request(prompt, "m")
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in body["messages"][1]["tool_calls"]] == ["c1", "c2"]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.0, 5, 7)
    reader = ChunkReader()
    chunks = reader.feed({"choices": [{"index": 0, "delta": {"content": "hi"}}]})
    chunks += reader.feed(
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}], "usage": None}
    )
    chunks += reader.feed({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}})
    assert [type(c).__name__ for c in chunks] == ["TextDelta"]
    assert reader.reason == "max_output_tokens"
    assert (reader.usage.input_tokens, reader.usage.output_tokens) == (9, 1)


def test_text_with_unicode_line_separators_survives_the_upstream(client: OpenAI) -> None:
    # The fake writes chunks with raw non-ASCII, as llama.cpp's server and vLLM do: these
    # characters sit inside `data:` lines, which only CR and LF may end.
    text = "a\u2028b\u2029c\x85d"
    with client.responses.connect() as conn:
        conn.response.create(model="m", store=False, input=text)
        done = until_done(conn)[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == "echo: " + text


def test_the_upstreams_context_limit_is_context_length_exceeded(
    client: OpenAI, upstream: tuple[FakeChatUpstream, str]
) -> None:
    fake, _ = upstream
    fake.context_tokens = 20
    try:
        with client.responses.connect() as conn:
            conn.response.create(model="m", store=False, input="word " * 50)
            events = until_done(conn)
        with pytest.raises(openai.BadRequestError) as http:
            client.responses.create(model="m", input="word " * 50)
    finally:
        fake.context_tokens = None
    assert [e.type for e in events] == ["error"]
    assert events[0].error.code == "context_length_exceeded"
    assert "maximum context length is 20 tokens" in events[0].error.message
    assert http.value.status_code == 400
    assert http.value.code == "context_length_exceeded"
