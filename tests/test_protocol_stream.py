"""The event builder and the client accumulator agree; the accumulator catches broken streams."""

from __future__ import annotations

import json

import pytest

from codeagent.errors import PreviousResponseNotFound, StreamError
from codeagent.protocol.accumulator import StreamAccumulator
from codeagent.protocol.builder import ResponseBuilder
from codeagent.protocol.events import (
    ServerEvent,
    UnknownEvent,
    encode_event,
    parse_server_event,
)
from codeagent.protocol.generation import CallDelta, CallStart, Finish, TextDelta
from codeagent.protocol.items import input_from_json, items_to_json
from codeagent.protocol.request import CreateRequest, parse_client_frame
from codeagent.protocol.response import Response, Usage
from codeagent.protocol.sse import SseDecoder


def build(*chunks: object) -> list[ServerEvent]:
    response = Response.start("resp_1", 0, CreateRequest("m"))
    ids = iter(f"id_{i}" for i in range(100))
    builder = ResponseBuilder(response, ids=lambda p: f"{p}_{next(ids)}", wall=lambda: 1.0)
    events = builder.start()
    for chunk in chunks:
        events += builder.feed(chunk)  # type: ignore[arg-type]
    return events


def accumulate(texts: list[str]) -> StreamAccumulator:
    acc = StreamAccumulator()
    for text in texts:
        acc.feed(parse_server_event(text))
    return acc


def test_text_then_call_round_trip_through_json() -> None:
    events = build(
        TextDelta("Let me "),
        TextDelta("run them."),
        CallStart("run_tests"),
        CallDelta('{"path":'),
        CallDelta('"t"}'),
        Finish(Usage(10, 4, 7)),
    )
    acc = accumulate([encode_event(e) for e in events])
    response = acc.result()
    assert response.output_text == "Let me run them."
    (call,) = response.function_calls
    assert call.name == "run_tests"
    assert call.arguments == '{"path":"t"}'
    assert response.usage == Usage(10, 4, 7)
    assert [e.to_json()["sequence_number"] for e in events] == list(range(len(events)))


def test_max_output_tokens_is_incomplete() -> None:
    events = build(TextDelta("cut"), Finish(Usage(1, 0, 1), reason="max_output_tokens"))
    response = accumulate([encode_event(e) for e in events]).result()
    assert response.status == "incomplete"
    assert response.incomplete_reason == "max_output_tokens"


def frames() -> list[str]:
    return [encode_event(e) for e in build(TextDelta("a"), TextDelta("b"), Finish(Usage()))]


def test_sequence_going_backwards_is_a_stream_error() -> None:
    texts = frames()
    texts[3], texts[4] = texts[4], texts[3]
    with pytest.raises(StreamError):
        accumulate(texts).result()


def test_event_after_the_terminal_one_is_a_stream_error() -> None:
    texts = frames()
    with pytest.raises(StreamError):
        accumulate([*texts, texts[-1]]).result()


def test_delta_for_an_item_never_added_is_a_stream_error() -> None:
    texts = [t for t in frames() if "output_item.added" not in t]
    with pytest.raises(StreamError):
        accumulate(texts).result()


def test_stream_that_stops_early_is_not_a_result() -> None:
    with pytest.raises(StreamError):
        accumulate(frames()[:-1]).result()


def test_error_event_becomes_the_specific_api_error() -> None:
    error = {
        "type": "error",
        "status": 400,
        "error": {"type": "invalid_request_error", "code": "previous_response_not_found",
                  "message": "gone", "param": "previous_response_id"},
    }  # fmt: skip
    with pytest.raises(PreviousResponseNotFound):
        accumulate([json.dumps(error)]).result()


def test_unknown_events_and_fields_are_kept() -> None:
    event = parse_server_event(
        '{"type":"response.reasoning.delta","delta":"x","sequence_number":3}'
    )
    assert isinstance(event, UnknownEvent)
    assert event.to_json()["delta"] == "x"
    texts = frames()
    with_extra = json.loads(texts[2])
    with_extra["obfuscation"] = "abc"
    parsed = parse_server_event(json.dumps(with_extra))
    assert parsed.to_json()["obfuscation"] == "abc"
    acc = accumulate([texts[0], texts[1], json.dumps({"type": "response.new_thing"}), *texts[2:]])
    assert acc.result().output_text == "ab"


def test_malformed_known_event_is_a_stream_error() -> None:
    with pytest.raises(StreamError):
        parse_server_event('{"type":"response.output_text.delta","output_index":"zero"}')
    with pytest.raises(StreamError):
        parse_server_event("not json")


def test_request_round_trip_keeps_unknown_fields() -> None:
    frame = json.dumps({
        "type": "response.create", "model": "m", "input": "hi", "store": False,
        "tools": [{"type": "function", "name": "f", "parameters": {}}, {"type": "web_search"}],
        "future_field": {"x": 1}, "stream": True, "temperature": 0,
    })  # fmt: skip
    request = parse_client_frame(frame)
    assert isinstance(request, CreateRequest)
    again = json.loads(request.ws_frame())
    assert again["future_field"] == {"x": 1}
    assert again["tools"][1] == {"type": "web_search"}
    assert again["temperature"] == 0
    assert "stream" not in again  # accepted and ignored over WebSocket


def test_items_round_trip() -> None:
    raw = [
        {"role": "user", "content": "plain"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "hi", "annotations": []}]},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
    ]  # fmt: skip
    assert items_to_json(input_from_json(raw)) == raw


def test_sse_decoder_joins_data_lines_across_chunk_boundaries() -> None:
    decoder = SseDecoder()
    stream = b'event: a\ndata: {"x":\ndata: 1}\n\n: comment\n\nid: 3\ndata: [DONE]\n\n'
    out: list[str] = []
    for i in range(0, len(stream), 5):
        out += decoder.feed(stream[i : i + 5])
    assert out == ['{"x":\n1}', "[DONE]"]
    assert decoder.feed(b"data: partial") == []
    decoder.reset()
    assert decoder.feed(b"\n\n") == []
    crlf = b"data: one\r\n\r\ndata: two\r\n\r\n"
    assert [d for i in range(len(crlf)) for d in decoder.feed(crlf[i : i + 1])] == ["one", "two"]
