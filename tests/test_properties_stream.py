"""Properties of the server-to-client half of the sans-I/O core (hypothesis).

- Any sequence of server events becomes a typed result (a ``Response``) or a typed error
  (``ApiError`` for an ``error`` event, ``StreamError`` for a broken stream) in the client's
  ``StreamAccumulator``, which never raises while fed; and which one is fixed: a whole stream is
  its response, a cut, reordered or duplicated one a ``StreamError``, an ``error`` event the
  matching ``ApiError``, and unknown events change nothing.
- Any text is a typed server event or a ``StreamError``; every event survives encode/decode.
- The SSE decoder gives the same events for any split of a byte stream into chunks, and gives
  back exactly the payloads of a valid stream, whatever its line ends and extra fields.

Profiles ("ci" by default, "long" with ``HYPOTHESIS_PROFILE=long``) live in tests/conftest.py.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from codeagent.errors import ApiError, ErrorInfo, StreamError, api_error
from codeagent.protocol.accumulator import StreamAccumulator
from codeagent.protocol.builder import ResponseBuilder
from codeagent.protocol.events import (
    TERMINAL,
    ArgumentsEvent,
    ContentPartEvent,
    ErrorEvent,
    OutputItemEvent,
    ResponseEvent,
    ServerEvent,
    SteerFailed,
    TextEvent,
    UnknownEvent,
    encode_event,
    parse_server_event,
)
from codeagent.protocol.generation import CallDelta, CallStart, Chunk, Finish, TextDelta
from codeagent.protocol.items import FunctionCall, Message, OutputText
from codeagent.protocol.request import CreateRequest
from codeagent.protocol.response import Response, Usage
from codeagent.protocol.sse import SseDecoder
from tests.test_properties_requests import mutated

TEXT = st.text(max_size=10)
KEYS = st.text(max_size=6)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
KNOWN_TYPES = {
    "response.created",
    "response.in_progress",
    "response.completed",
    "response.failed",
    "response.incomplete",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "error",
    "response.steer.failed",
}
UNKNOWN_TYPES = st.sampled_from(["response.reasoning.delta", "rate_limits.updated"]) | TEXT.filter(
    lambda t: t not in KNOWN_TYPES
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def decode(chunks: list[bytes]) -> list[str]:
    decoder = SseDecoder()
    return [payload for chunk in chunks for payload in decoder.feed(chunk)]


CUTS = st.lists(st.integers(0, 10_000), max_size=12)


# --- valid streams, made by the server's own builder ---------------------------------------------

COUNTS = st.integers(0, 2**31)
USAGE = st.builds(Usage, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS)
CHUNKS: st.SearchStrategy[Chunk] = st.one_of(
    st.builds(TextDelta, TEXT),
    st.builds(CallStart, TEXT, st.none() | TEXT),
    st.builds(CallDelta, TEXT),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[ServerEvent], Response]:
    """The events of one response, as the server sends them, and the response they end with."""
    response = Response.start("resp_1", 0, CreateRequest(draw(TEXT)))
    ids = itertools.count()
    builder = ResponseBuilder(response, ids=lambda p: f"{p}_{next(ids)}", wall=lambda: 1.0)
    events = builder.start()
    for chunk in draw(st.lists(CHUNKS, max_size=6)):
        events += builder.feed(chunk)
    ending = draw(st.sampled_from(["stop", "max_output_tokens", "fail"]))
    if ending == "fail":
        events += builder.fail(draw(TEXT), draw(st.none() | USAGE))
    else:
        events += builder.feed(Finish(draw(USAGE), ending))
    return events, builder.response


def accumulate(events: list[ServerEvent]) -> StreamAccumulator:
    acc = StreamAccumulator()
    for sent in events:
        carried = acc.feed(sent)  # never raises
        is_delta = isinstance(sent, TextEvent | ArgumentsEvent) and sent.type.endswith(".delta")
        assert carried == is_delta or (carried is False and acc.done)
    return acc


@given(streams(), CUTS)
def test_a_whole_stream_is_its_response(
    stream: tuple[list[ServerEvent], Response], cuts: list[int]
) -> None:
    events, final = stream
    acc = accumulate(events)
    assert acc.result() == final
    text = "".join(acc.text_parts)
    # A failed response drops the item that was open (its text was streamed all the same).
    assert (
        text == final.output_text
        if final.status != "failed"
        else text.startswith(final.output_text)
    )
    # The same through JSON text, and through an SSE byte stream cut anywhere.
    assert [parse_server_event(encode_event(e)) for e in events] == events
    sse = b"".join(f"event: {e.type}\ndata: {encode_event(e)}\n\n".encode() for e in events)
    sse += b"data: [DONE]\n\n"
    payloads = decode(split(sse, cuts))
    assert payloads[-1] == "[DONE]"
    assert accumulate([parse_server_event(p) for p in payloads[:-1]]).result() == final


@given(streams(), st.data())
def test_a_stream_cut_short_is_a_stream_error(
    stream: tuple[list[ServerEvent], Response], data: st.DataObject
) -> None:
    events, _ = stream
    cut = data.draw(st.integers(0, len(events) - 1))
    with pytest.raises(StreamError, match="ended before a terminal event"):
        accumulate(events[:cut]).result()


@given(streams(), st.data())
def test_a_reordered_stream_is_a_stream_error(
    stream: tuple[list[ServerEvent], Response], data: st.DataObject
) -> None:
    events, _ = stream
    order = data.draw(st.permutations(range(len(events))))
    if order == sorted(order):
        i, j = data.draw(
            st.lists(st.integers(0, len(events) - 1), min_size=2, max_size=2, unique=True)
        )
        order[i], order[j] = order[j], order[i]
    with pytest.raises(StreamError):
        accumulate([events[i] for i in order]).result()


@given(streams(), st.data())
def test_a_repeated_event_is_a_stream_error(
    stream: tuple[list[ServerEvent], Response], data: st.DataObject
) -> None:
    events, _ = stream
    i = data.draw(st.integers(0, len(events) - 1))
    with pytest.raises(StreamError):
        accumulate([*events[: i + 1], events[i], *events[i + 1 :]]).result()


ERRORS = st.builds(
    ErrorInfo,
    st.integers(400, 599),
    st.sampled_from(["invalid_request_error", "server_error", "rate_limit_error"]),
    st.sampled_from(
        [
            "previous_response_not_found",
            "context_length_exceeded",
            "websocket_connection_limit_reached",
            "rate_limit_exceeded",
        ]
    )
    | st.none(),
    TEXT,
    st.none() | TEXT,
)


@given(streams(), ERRORS, st.data())
def test_an_error_event_is_the_matching_api_error(
    stream: tuple[list[ServerEvent], Response], info: ErrorInfo, data: st.DataObject
) -> None:
    """An ``error`` event ends the stream wherever it comes (even first: a refused request);
    anything after it breaks the stream."""
    events, _ = stream
    at = data.draw(st.integers(0, len(events) - 1))
    error = data.draw(st.sampled_from([ErrorEvent(info), ErrorEvent(info, sequence_number=at)]))
    for sent in (error, parse_server_event(encode_event(error))):
        with pytest.raises(ApiError) as raised:
            accumulate([*events[:at], sent]).result()
        assert type(raised.value) is type(api_error(info))
        assert raised.value.info == info
        with pytest.raises(StreamError):
            accumulate([*events[:at], sent, *events[at:]]).result()


@given(streams(), st.data())
def test_unknown_events_change_nothing(
    stream: tuple[list[ServerEvent], Response], data: st.DataObject
) -> None:
    events, final = stream
    extra = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, len(events) - 1),
                st.builds(
                    lambda t, d: UnknownEvent(t, {**d, "type": t}),
                    UNKNOWN_TYPES,
                    st.dictionaries(KEYS, JSON, max_size=2),
                ),
            ),
            max_size=4,
        )
    )
    mixed = list(events)
    for at, unknown in sorted(extra, key=lambda x: x[0], reverse=True):
        mixed.insert(at, unknown)  # before the terminal event, which stays last
    assert accumulate(mixed).result() == final
    texts = [encode_event(e) for e in mixed]
    assert accumulate([parse_server_event(t) for t in texts]).result() == final


# --- any sequence of typed events ----------------------------------------------------------------

SEQ = st.integers(-1, 12)
INDEX = st.integers(0, 3)
RESPONSES = st.builds(
    lambda id, status, output: Response(id, 0, status, "m", output=output, usage=Usage()),
    st.sampled_from(["resp_1", "resp_2"]),
    st.sampled_from(["in_progress", "completed", "failed", "incomplete"]),
    st.lists(
        st.builds(lambda t: Message("assistant", (OutputText(t),), id="msg_1"), TEXT)
        | st.builds(FunctionCall, TEXT, TEXT, TEXT),
        max_size=2,
    ).map(tuple),
)
ANY_EVENT: st.SearchStrategy[ServerEvent] = st.one_of(
    st.builds(
        ResponseEvent,
        st.sampled_from(sorted(TERMINAL | {"response.created", "response.in_progress"})),
        RESPONSES,
        SEQ,
    ),
    st.builds(
        OutputItemEvent,
        st.sampled_from(["response.output_item.added", "response.output_item.done"]),
        INDEX,
        RESPONSES.map(lambda r: r.output[0] if r.output else Message("assistant", ())),
        SEQ,
    ),
    st.builds(
        ContentPartEvent,
        st.sampled_from(["response.content_part.added", "response.content_part.done"]),
        TEXT,
        INDEX,
        INDEX,
        st.builds(OutputText, TEXT),
        SEQ,
    ),
    st.builds(
        TextEvent,
        st.sampled_from(["response.output_text.delta", "response.output_text.done"]),
        TEXT,
        INDEX,
        INDEX,
        TEXT,
        SEQ,
    ),
    st.builds(
        ArgumentsEvent,
        st.sampled_from(
            ["response.function_call_arguments.delta", "response.function_call_arguments.done"]
        ),
        TEXT,
        INDEX,
        TEXT,
        SEQ,
    ),
    st.builds(ErrorEvent, ERRORS, st.none() | SEQ),
    st.builds(SteerFailed, st.none() | TEXT, st.just("steering_not_supported"), TEXT, st.just({})),
    st.builds(lambda t: UnknownEvent(t, {"type": t}), UNKNOWN_TYPES),
)


@st.composite
def broken_streams(draw: st.DrawFn) -> list[ServerEvent]:
    """A whole stream, then a few events dropped, inserted, swapped or renumbered."""
    events = list(draw(streams())[0])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(events) - 1)) if events else 0
        how = draw(st.sampled_from(["drop", "insert", "swap", "renumber"]))
        if how == "insert" or not events:
            events.insert(at, draw(ANY_EVENT))
        elif how == "drop":
            del events[at]
        elif how == "swap":
            other = draw(st.integers(0, len(events) - 1))
            events[at], events[other] = events[other], events[at]
        elif hasattr(events[at], "sequence_number"):
            events[at] = replace(events[at], sequence_number=draw(SEQ))  # type: ignore[type-var]
    return events


@given(st.lists(ANY_EVENT, max_size=12) | broken_streams())
def test_any_event_sequence_is_a_response_or_a_typed_error(events: list[ServerEvent]) -> None:
    outcome = result_of(accumulate(events))
    event(type(outcome).__name__)
    if isinstance(outcome, ApiError):
        # Only an error event, and only as the last event, makes an ApiError.
        last = events[-1]
        assert isinstance(last, ErrorEvent)
        assert outcome.info == last.error
        assert type(outcome) is type(api_error(last.error))
    if not isinstance(outcome, Response):
        return
    response = outcome
    # A result: the stream was in order, began with response.created and ended, last, with a
    # terminal event of the response it returns, and carried no error.
    numbers = [_seq(e) for e in events if _seq(e) >= 0]
    assert numbers == sorted(set(numbers))
    protocol = [
        e
        for e in events
        if isinstance(e, ResponseEvent | OutputItemEvent | TextEvent | ArgumentsEvent)
    ]
    assert protocol[0].type == "response.created"
    last = events[-1]
    assert isinstance(last, ResponseEvent)
    assert last.type in TERMINAL
    assert response.id == last.response.id
    assert response.output == last.response.output or not last.response.output
    assert not any(isinstance(e, ErrorEvent) for e in events)


def result_of(acc: StreamAccumulator) -> Response | ApiError | StreamError:
    try:
        return acc.result()
    except (ApiError, StreamError) as exc:
        return exc


def _seq(event: ServerEvent) -> int:
    number = getattr(event, "sequence_number", None)
    return number if isinstance(number, int) else -1


# --- any text as a server event ------------------------------------------------------------------

ANY_FIELDS = {
    "type": st.sampled_from(sorted(KNOWN_TYPES)) | JSON,
    "sequence_number": st.integers(-1, 5) | JSON,
    "output_index": st.integers(0, 3) | JSON,
    "content_index": st.integers(0, 3) | JSON,
    "item_id": TEXT | JSON,
    "delta": TEXT | JSON,
    "text": TEXT | JSON,
    "arguments": TEXT | JSON,
    "name": TEXT | JSON,
    "item": st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "function_call", "reasoning"]) | JSON},
        optional={
            "role": TEXT | JSON,
            "content": st.lists(JSON) | JSON,
            "call_id": TEXT | JSON,
            "name": TEXT | JSON,
            "arguments": TEXT | JSON,
        },
    )
    | JSON,
    "part": st.fixed_dictionaries({"type": st.just("output_text"), "text": TEXT | JSON}) | JSON,
    "status": st.integers(400, 599) | JSON,
    "error": st.fixed_dictionaries(
        {},
        optional={
            "type": TEXT | JSON,
            "code": TEXT | JSON,
            "message": TEXT | JSON,
            "param": TEXT | JSON,
        },
    )
    | JSON,
    "response": st.fixed_dictionaries(
        {"id": TEXT | JSON},
        optional={
            "status": TEXT | JSON,
            "created_at": st.integers() | JSON,
            "output": st.lists(JSON),
            "usage": st.fixed_dictionaries(
                {},
                optional={
                    "input_tokens": st.integers(0, 9) | JSON,
                    "output_tokens": st.integers(0, 9) | JSON,
                    "input_tokens_details": st.fixed_dictionaries(
                        {}, optional={"cached_tokens": JSON, "cache_write_tokens": JSON}
                    )
                    | JSON,
                    "output_tokens_details": st.fixed_dictionaries(
                        {}, optional={"reasoning_tokens": JSON}
                    )
                    | JSON,
                },
            )
            | JSON,
            "error": st.fixed_dictionaries({}, optional={"code": JSON, "message": JSON}) | JSON,
            "incomplete_details": st.fixed_dictionaries({}, optional={"reason": JSON}) | JSON,
            "store": JSON,
            "model": JSON,
            "previous_response_id": JSON,
            "instructions": JSON,
            "completed_at": JSON,
        },
    )
    | JSON,
}


@st.composite
def mangled_events(draw: st.DrawFn) -> str:
    """One event of a whole stream, as JSON, with one value anywhere in it replaced or removed."""
    chosen = draw(st.sampled_from(draw(streams())[0]))
    return json.dumps(draw(mutated(chosen.to_json(), JSON)))


SERVER_TEXTS = st.one_of(
    mangled_events(),
    streams().flatmap(lambda stream: st.sampled_from(stream[0])).map(encode_event),
    TEXT,
    JSON.map(json.dumps),
    st.fixed_dictionaries(
        {"type": ANY_FIELDS["type"]}, optional={k: v for k, v in ANY_FIELDS.items() if k != "type"}
    ).map(json.dumps),
)


@given(SERVER_TEXTS)
@example('{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":"x"}}}')
@example('{"type":"response.created","response":{"id":"r","usage":{"input_tokens_details":[1]}}}')
@example('{"type":"response.created","response":{"id":"r","error":{"code":7}}}')
@example('{"type":"response.incomplete","response":{"id":"r","incomplete_details":{}}}')
@example('{"type":"response.function_call_arguments.delta","output_index":0,"delta":"","name":"f"}')
def test_any_text_is_a_typed_event_or_a_stream_error(text: str) -> None:
    try:
        parsed = parse_server_event(text)
    except StreamError:
        event("StreamError")
        return
    event(type(parsed).__name__)
    # A typed event, with typed fields, that encodes and parses back to itself.
    if isinstance(parsed, ResponseEvent):
        usage = parsed.response.usage
        assert usage is None or all(
            type(n) is int and n >= 0
            for n in (
                usage.input_tokens,
                usage.cached_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
                usage.cache_write_tokens,
            )
        )
        error = parsed.response.error
        assert error is None or isinstance(error.code, str)
        details = json.loads(text)["response"].get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        assert parsed.response.incomplete_reason == (
            reason or None if type(reason) is str else None
        )
    assert parse_server_event(encode_event(parsed)) == parsed
    # One event alone is never a whole response: an error event is its ApiError, else the
    # stream is broken (or ended) before a terminal event.
    acc = StreamAccumulator()
    acc.feed(parsed)
    expected = ApiError if isinstance(parsed, ErrorEvent) else StreamError
    with pytest.raises(expected):
        acc.result()


# --- SSE -----------------------------------------------------------------------------------------


@given(
    st.binary(max_size=80)
    | st.lists(
        st.sampled_from(
            [
                b"data:",
                b" ",
                b"x",
                b"\r",
                b"\n",
                b"\xef\xbb\xbf",
                b"\xe2\x80\xa8",
                b":",
                b"event: e",
            ]
        ),
        max_size=24,
    ).map(b"".join),
    CUTS,
)
def test_any_bytes_decode_the_same_however_they_are_split(data: bytes, cuts: list[int]) -> None:
    assert decode(split(data, cuts)) == decode([data])
    assert decode([data[i : i + 1] for i in range(len(data))]) == decode([data])


LINE_ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])
PAYLOADS = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=20)
"""Any text but CR: the format cannot carry a CR in data (a LF becomes a second data line)."""


OTHER_LINES = st.sampled_from(
    [b"event: response.output_text.delta", b": keep-alive", b"id: 7", b"retry: 100", b"event"]
)


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    payloads = draw(st.lists(PAYLOADS, max_size=4))
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []  # a leading BOM is ignored (9.2.6)

    def line(raw: bytes) -> None:
        if not raw and out and out[-1].endswith(b"\r"):
            end = draw(st.sampled_from([b"\r", b"\r\n"]))  # CR then LF would be one CRLF
        else:
            end = draw(LINE_ENDS)
        out.append(raw + end)

    for payload in payloads:
        for _ in range(draw(st.integers(0, 2))):
            line(draw(OTHER_LINES))
        for part in payload.split("\n"):
            spelled = draw(st.sampled_from([b"data: ", b"data:"]))
            if part.startswith(" "):
                spelled = b"data: "  # "data: " + " x": the first space goes, the second stays
            line(b"data" if not part and draw(st.booleans()) else spelled + part.encode())
        line(b"")
    return b"".join(out), payloads


@given(sse_streams(), CUTS)
@example((b"\xef\xbb\xbfdata: x\n\n", ["x"]), [1])
def test_a_valid_sse_stream_decodes_to_its_payloads(
    stream: tuple[bytes, list[str]], cuts: list[int]
) -> None:
    data, payloads = stream
    assert decode(split(data, cuts)) == payloads
