"""The server session state machine, driven by JSON strings alone."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from typing import Any

import pytest

from codeagent.errors import InvalidRequest
from codeagent.protocol.events import ErrorEvent, ServerEvent, SteerFailed
from codeagent.protocol.generation import CallDelta, CallStart, TextDelta
from codeagent.protocol.request import CreateRequest
from codeagent.protocol.response import Usage
from codeagent.protocol.session import (
    Close,
    ConnectionSession,
    HttpExchange,
    Reply,
    SessionLimits,
    Start,
    Turn,
)
from codeagent.protocol.store import ResponseStore

_ids = itertools.count()  # unique across sessions, as random ids are


def make_session(store: ResponseStore | None = None, **limits: Any) -> ConnectionSession:
    return ConnectionSession(
        ResponseStore(8) if store is None else store,
        limits=SessionLimits(**limits),
        ids=lambda prefix: f"{prefix}_{next(_ids)}",
        wall=lambda: 1_700_000_000.0,
    )


def create(**fields: Any) -> str:
    return json.dumps({"type": "response.create", "model": "m", **fields})


def start(session: ConnectionSession, frame: str) -> Turn:
    session.receive_frame(frame)
    step = session.next_step(0.0)
    assert isinstance(step, Start), step
    return step.turn


def run(session: ConnectionSession, frame: str, text: str = "hi") -> Turn:
    turn = start(session, frame)
    turn.builder.start()
    turn.builder.feed(TextDelta(text))
    session.complete(turn, Usage(input_tokens=5, output_tokens=1))
    return turn


def error_of(session: ConnectionSession, frame: str) -> dict[str, Any]:
    session.receive_frame(frame)
    step = session.next_step(0.0)
    assert isinstance(step, Reply)
    (event,) = step.events
    assert isinstance(event, ErrorEvent)
    return event.to_json()


def test_chain_carries_previous_input_and_output() -> None:
    session = make_session()
    first = run(session, create(input="one", store=False), text="answer one")
    second = start(session, create(input="two", previous_response_id=first.response_id))
    texts = [getattr(i, "text", None) for i in second.prompt.items]
    assert texts == ["one", "answer one", "two"]
    assert second.prompt.instructions is None  # instructions are not inherited


def test_one_response_at_a_time_then_in_order() -> None:
    session = make_session()
    turn = start(session, create(input="a"))
    session.receive_frame(create(input="b"))
    session.receive_frame("not json")
    assert session.next_step(0.0) is None  # b waits while a runs
    session.complete(turn, Usage())
    step = session.next_step(0.0)
    assert isinstance(step, Start)
    assert step.turn.prompt.items[-1].text == "b"  # type: ignore[union-attr]
    session.complete(step.turn, Usage())
    assert isinstance(session.next_step(0.0), Reply)  # then the bad frame's error
    assert session.next_step(0.0) is None


def test_store_false_lives_only_on_its_connection() -> None:
    store = ResponseStore(8)
    ephemeral = run(make_session(store), create(input="x", store=False))
    kept = run(make_session(store), create(input="y", store=True))
    other = make_session(store)
    error = error_of(other, create(previous_response_id=ephemeral.response_id))
    assert error["error"]["code"] == "previous_response_not_found"
    assert start(other, create(previous_response_id=kept.response_id)).parent_id is not None


def test_unknown_call_id_is_400_and_evicts_parent() -> None:
    session = make_session()
    parent = start(session, create(input="x", store=False))
    parent.builder.feed(CallStart("run_tests", call_id="call_1"))
    parent.builder.feed(CallDelta("{}"))
    session.complete(parent, Usage())
    bad = [{"type": "function_call_output", "call_id": "call_2", "output": "x"}]
    error = error_of(session, create(previous_response_id=parent.response_id, input=bad))
    assert error["status"] == 400
    assert "call_2" in error["error"]["message"]
    good = [{"type": "function_call_output", "call_id": "call_1", "output": "x"}]
    error = error_of(session, create(previous_response_id=parent.response_id, input=good))
    assert error["error"]["code"] == "previous_response_not_found"


def test_backend_failure_evicts_parent() -> None:
    session = make_session()
    parent = run(session, create(input="x"))
    child = start(session, create(previous_response_id=parent.response_id, input="y"))
    events = session.fail(child, "boom")
    assert [e.type for e in events] == ["response.failed"]
    error = error_of(session, create(previous_response_id=parent.response_id))
    assert error["error"]["code"] == "previous_response_not_found"


def test_connection_keeps_a_bounded_number_of_responses() -> None:
    session = make_session(max_responses=2)
    turns = [run(session, create(input=str(i), store=False)) for i in range(3)]
    error = error_of(session, create(previous_response_id=turns[0].response_id))
    assert error["error"]["code"] == "previous_response_not_found"
    assert start(session, create(previous_response_id=turns[2].response_id))


def test_lifetime_limit_waits_for_the_running_turn() -> None:
    session = make_session(lifetime_s=10)
    turn = start(session, create(input="x"))
    assert session.next_step(11.0) is None  # a running turn is never cut
    session.complete(turn, Usage())
    step = session.next_step(11.0)
    assert isinstance(step, Close)
    assert step.events[0].to_json()["error"]["code"] == "websocket_connection_limit_reached"
    assert session.next_step(12.0) is None
    session.receive_frame(create())
    assert session.next_step(12.0) is None


def test_refused_frames_are_answered_in_request_order() -> None:
    # The default lane has no request ids: a client pairs replies with requests by order, so
    # a refusal must wait its turn like any other reply.
    session = make_session(max_pending=2)
    busy = start(session, create(input="busy"))
    for name in ("one", "two", "three", "four"):
        session.receive_frame(create(input=name))
    assert session.next_step(0.0) is None  # nothing jumps the running turn
    session.complete(busy, Usage())
    replies: list[str] = []
    while (step := session.next_step(0.0)) is not None:
        if isinstance(step, Start):
            replies.append(step.turn.prompt.items[-1].text)  # type: ignore[union-attr]
            session.complete(step.turn, Usage())
        else:
            assert isinstance(step, Reply)
            replies.append(step.events[0].to_json()["error"]["code"])
    assert replies == ["one", "two", "too_many_pending_requests", "too_many_pending_requests"]


def test_a_flood_costs_no_memory_and_closes_the_connection() -> None:
    session = make_session(max_pending=4, max_refused=300_000)
    start(session, create(input="busy"))
    tracemalloc.start()
    try:
        for _ in range(4 + 300_000):  # two-byte frames behind one long create: 4 wait
            session.receive_frame("{}")
        grown, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024  # was ~100 MiB: one error event kept per refused frame
    assert not session.flooded
    session.receive_frame("{}")
    assert session.flooded
    step = session.next_step(0.0)  # even while the turn runs
    assert isinstance(step, Close)
    assert (step.code, step.reason) == (1008, "too many pending requests")
    assert session.next_step(0.0) is None


def test_pending_bytes_are_bounded_too() -> None:
    session = make_session(max_pending_bytes=1000)
    start(session, create(input="busy"))
    session.receive_frame(create(input="x" * 900))
    session.receive_frame(create(input="y" * 200))  # would pass 1,000 characters queued
    session.complete(session.running, Usage())  # type: ignore[arg-type]
    first = session.next_step(0.0)
    assert isinstance(first, Start)
    session.complete(first.turn, Usage())
    refused = session.next_step(0.0)
    assert isinstance(refused, Reply)
    assert refused.events[0].to_json()["error"]["code"] == "too_many_pending_requests"


def test_steer_is_refused() -> None:
    session = make_session()
    session.receive_frame(json.dumps({"type": "response.steer", "previous_response_id": "r"}))
    step = session.next_step(0.0)
    assert isinstance(step, Reply)
    assert isinstance(step.events[0], SteerFailed)


def test_warmup_produces_no_output_and_chains() -> None:
    session = make_session()
    warm = start(session, create(input="static", generate=False))
    assert not warm.generate
    events: list[ServerEvent] = [*warm.builder.start(), *session.complete(warm, Usage(50))]
    assert [e.type for e in events] == ["response.created", "response.in_progress",
                                        "response.completed"]  # fmt: skip
    assert events[-1].to_json()["response"]["output"] == []
    follow = start(session, create(previous_response_id=warm.response_id, input="go"))
    assert [i.text for i in follow.prompt.items] == ["static", "go"]  # type: ignore[union-attr]


def test_prewarm_option_means_generate_false() -> None:
    session = make_session()
    turn = start(session, create(input="x", prompt_cache_options={"prewarm": True}))
    assert not turn.generate


def test_http_exchange_resolves_only_stored_responses() -> None:
    store = ResponseStore(8)
    session = make_session(store)
    ephemeral = run(session, create(input="x", store=False))
    stored = run(session, create(input="y"))
    exchange = HttpExchange(store)
    turn = exchange.begin(CreateRequest("m", previous_response_id=stored.response_id))
    assert turn.parent_id == stored.response_id
    with pytest.raises(InvalidRequest) as info:
        exchange.begin(CreateRequest("m", previous_response_id=ephemeral.response_id))
    assert info.value.info.code == "previous_response_not_found"
    assert store.size == 1
