"""Properties of the client-to-server half of the sans-I/O core (hypothesis).

- Any text frame becomes a typed client event or a typed 400 (``InvalidRequest``); the session
  answers it with exactly that: a ``Start``, a ``SteerFailed`` or one ``error`` event that encodes
  to UTF-8 and parses back to the same ``ErrorInfo``, and the connection stays usable.
- A structurally valid create body is accepted with the values it carried, and survives
  encode/decode unchanged (``to_json``/``from_json``, the WebSocket frame, the HTTP body).
- Numbers are accepted exactly on their documented ranges, whatever their JSON spelling.

Profiles ("ci" by default, "long" with ``HYPOTHESIS_PROFILE=long``) live in tests/conftest.py.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from codeagent.errors import InvalidRequest
from codeagent.protocol import wire
from codeagent.protocol.events import ErrorEvent, SteerFailed, encode_event, parse_server_event
from codeagent.protocol.items import (
    Content,
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Item,
    Message,
    OtherContent,
    OtherItem,
    OutputText,
)
from codeagent.protocol.request import (
    CreateRequest,
    FunctionTool,
    OtherTool,
    SteerRequest,
    Tool,
    UnknownClientEvent,
    parse_client_frame,
)
from codeagent.protocol.session import ConnectionSession, Reply, Start
from codeagent.protocol.store import ResponseStore

# --- JSON values ---------------------------------------------------------------------------------

TEXT = st.text(max_size=12)  # no lone surrogates: a text frame is UTF-8 (RFC 6455, 5.6)
KEYS = st.text(max_size=8)
EDGE_NUMBERS = st.sampled_from(
    [0, -0.0, 1, -1, 2, 2.0000000000000004, 5e-324, -5e-324, 1.7976931348623157e308,
     2**53 + 1, 2**63, -(2**63) - 1, 10**400, -(10**400)]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | EDGE_NUMBERS
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
JSON_OBJECTS = st.dictionaries(KEYS, JSON, max_size=4)

# --- typed, valid create requests ----------------------------------------------------------------

TEXT_PARTS = {"input_text", "output_text"}
ITEM_TYPES = {"message", "function_call", "function_call_output"}
KNOWN_FIELDS = {
    "type", "model", "input", "instructions", "tools", "tool_choice", "previous_response_id",
    "store", "temperature", "top_p", "max_output_tokens", "prompt_cache_key", "metadata",
    "parallel_tool_calls", "text", "reasoning", "generate", "stream_id", "stream", "background",
    "truncation", "prompt_cache_options",
}  # fmt: skip
"""Fields ``CreateRequest`` reads; anything else is kept verbatim in ``extra``."""


def _other(known: set[str], names: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(names) | TEXT.filter(lambda t: t not in known)


def _with_type(kind: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    rest = st.dictionaries(KEYS.filter(lambda k: k != "type"), JSON, max_size=3)
    return st.builds(lambda t, r: {"type": t, **r}, kind, rest)


CONTENT: st.SearchStrategy[Content] = st.one_of(
    st.builds(InputText, TEXT),
    st.builds(OutputText, TEXT),
    st.builds(OtherContent, _with_type(_other(TEXT_PARTS, ["input_image", "input_file"]))),
)
ROLES = st.sampled_from(["user", "assistant", "system", "developer"]) | TEXT
MAYBE_TEXT = st.none() | TEXT
ITEMS: st.SearchStrategy[Item] = st.one_of(
    st.builds(Message, ROLES, st.lists(CONTENT, max_size=3).map(tuple), MAYBE_TEXT, MAYBE_TEXT),
    st.builds(FunctionCall, TEXT, TEXT, TEXT, MAYBE_TEXT, MAYBE_TEXT),
    st.builds(FunctionCallOutput, TEXT, TEXT, MAYBE_TEXT),
    st.builds(OtherItem, _with_type(_other(ITEM_TYPES, ["reasoning", "item_reference"]))),
)
TOOLS: st.SearchStrategy[Tool] = st.one_of(
    st.builds(FunctionTool, TEXT, TEXT, JSON_OBJECTS, st.none() | st.booleans()),
    st.builds(OtherTool, _with_type(_other({"function"}, ["web_search", "custom"]))),
)
SEEDS = st.integers(-(10**19), 10**20 - 1).map(str)
METADATA = st.dictionaries(KEYS.filter(lambda k: k != "seed"), TEXT, max_size=3) | st.builds(
    lambda m, s: {**m, "seed": s}, st.dictionaries(KEYS, TEXT, max_size=2), SEEDS
)
EXTRA = st.dictionaries(KEYS.filter(lambda k: k not in KNOWN_FIELDS), JSON, max_size=3)


def unit_interval(top: float) -> st.SearchStrategy[float]:
    return st.sampled_from([0.0, top, math.nextafter(top, 0)]) | st.floats(0, top)


CREATE_REQUESTS = st.builds(
    CreateRequest,
    model=TEXT,
    input=st.lists(ITEMS, max_size=4).map(tuple),
    instructions=MAYBE_TEXT,
    tools=st.lists(TOOLS, max_size=2).map(tuple),
    tool_choice=st.sampled_from(["auto", "none", "required", None]) | JSON,
    previous_response_id=st.tuples(st.integers(0, 3), TEXT).map(lambda t: None if t[0] else t[1]),
    store=st.booleans(),
    temperature=st.none() | unit_interval(2.0),
    top_p=st.none() | unit_interval(1.0),
    max_output_tokens=st.none() | st.integers(min_value=1) | st.just(2**64),
    prompt_cache_key=MAYBE_TEXT,
    metadata=METADATA,
    parallel_tool_calls=st.booleans(),
    text=st.none() | JSON_OBJECTS,
    reasoning=st.none() | JSON_OBJECTS,
    truncation=MAYBE_TEXT,
    generate=st.booleans(),
    stream_id=MAYBE_TEXT,
    extra=EXTRA,
)


@given(CREATE_REQUESTS)
@example(CreateRequest("m", input=(Message("assistant", (InputText("x"),)),)))
def test_a_create_request_survives_encode_and_decode(request: CreateRequest) -> None:
    assert CreateRequest.from_json(request.to_json()) == request
    assert parse_client_frame(request.ws_frame()) == request
    http = CreateRequest.from_json(wire.decode_object(request.http_body()))
    assert http == replace(request, generate=True)  # generate is WebSocket-only


# --- valid bodies in every spelling the API accepts ---------------------------------------------


def _text_part(kind: str, text: str) -> Content:
    return InputText(text) if kind == "input_text" else OutputText(text)


EASY_ITEMS: st.SearchStrategy[tuple[dict[str, Any], Item]] = st.one_of(
    # The "easy input message": no type, string content (output text for the assistant).
    st.builds(
        lambda r, c: (
            {"role": r, "content": c},
            Message(r, (_text_part("output_text" if r == "assistant" else "input_text", c),)),
        ),
        ROLES,
        TEXT,
    ),
    st.builds(
        lambda r, parts: (
            {"type": "message", "role": r, "content": [{"type": k, "text": t} for k, t in parts]},
            Message(r, tuple(_text_part(k, t) for k, t in parts)),
        ),
        ROLES,
        st.lists(st.tuples(st.sampled_from(sorted(TEXT_PARTS)), TEXT), max_size=3),
    ),
    # A function call output given as content parts is kept as its JSON text.
    st.builds(
        lambda c, o: (
            {"type": "function_call_output", "call_id": c, "output": o},
            FunctionCallOutput(c, o if isinstance(o, str) else wire.encode(o)),
        ),
        TEXT,
        TEXT | st.lists(st.fixed_dictionaries({"type": st.just("input_text"), "text": TEXT})),
    ),
    ITEMS.map(lambda item: (CreateRequest("m", input=(item,)).to_json()["input"][0], item)),
)


@given(
    model=TEXT,
    input=TEXT | st.lists(EASY_ITEMS, max_size=4),
    ignored=st.fixed_dictionaries({}, optional={"stream": st.booleans(), "background": SCALARS}),
)
def test_a_valid_body_is_accepted_with_its_values_and_is_a_fixed_point(
    model: str, input: str | list[tuple[dict[str, Any], Item]], ignored: dict[str, Any]
) -> None:
    raw = input if isinstance(input, str) else [body for body, _ in input]
    body = {"type": "response.create", "model": model, "input": raw, **ignored}
    if ignored.get("background"):
        with pytest.raises(InvalidRequest) as refused:
            CreateRequest.from_json(body)
        assert refused.value.info.param == "background"
        return
    request = CreateRequest.from_json(body)
    assert request.model == model
    if isinstance(input, str):
        assert request.input == (Message("user", (InputText(input),)),)
    else:
        assert request.input == tuple(item for _, item in input)
    assert CreateRequest.from_json(request.to_json()) == request
    assert "stream" not in request.to_json()  # accepted and ignored


# --- numbers at the edges of their ranges --------------------------------------------------------

NUMBER_LITERALS = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    EDGE_NUMBERS.map(json.dumps),
    st.sampled_from(["true", "false", '"1"', "[1]", "-0", "0e0", "2.0e0", "1E-400", "20e-1"]),
)
RANGES = {"temperature": (0, 2), "top_p": (0, 1)}


@pytest.mark.parametrize("name", ["temperature", "top_p", "max_output_tokens"])
@given(literal=NUMBER_LITERALS)
def test_numbers_are_accepted_exactly_on_their_range(name: str, literal: str) -> None:
    frame = f'{{"type":"response.create","model":"m","{name}":{literal}}}'
    value = json.loads(literal)
    if name == "max_output_tokens":
        ok = type(value) is int and value >= 1
    else:
        low, high = RANGES[name]
        ok = type(value) in (int, float) and low <= value <= high
    if ok:
        request = parse_client_frame(frame)
        assert isinstance(request, CreateRequest)
        assert getattr(request, name) == value
        return
    with pytest.raises(InvalidRequest) as refused:
        parse_client_frame(frame)
    assert refused.value.info.status == 400
    assert refused.value.info.param == name


# --- any text frame -----------------------------------------------------------------------------

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00", "\ud83d"])
"""Dumped with ``ensure_ascii``, these become ``\\ud800``-style escapes: valid JSON syntax."""
NUMBER_SPELLINGS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000, "1E-400"]
SPECIAL = st.sampled_from([f"\x00num{i}\x00" for i in range(len(NUMBER_SPELLINGS))])
"""Placeholders replaced, after dumping, by number spellings ``json.dumps`` cannot produce."""
ODD = SURROGATES | SPECIAL
"""Values that are not JSON a server may accept: lone surrogates, non-finite and huge numbers."""
GARBAGE = JSON
"""Valid JSON of any type: mostly the wrong type for the field it lands in."""


def anything_or(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return valid | GARBAGE


def item_like() -> st.SearchStrategy[Any]:
    fields = {
        "type": anything_or(st.sampled_from([*sorted(ITEM_TYPES), "reasoning"])),
        "role": anything_or(ROLES),
        "content": anything_or(
            TEXT
            | st.lists(
                st.fixed_dictionaries(
                    {"type": anything_or(st.sampled_from(sorted(TEXT_PARTS)))},
                    optional={"text": anything_or(TEXT)},
                )
                | GARBAGE,
                max_size=2,
            )
        ),
        "call_id": anything_or(TEXT),
        "name": anything_or(TEXT),
        "arguments": anything_or(TEXT),
        "output": anything_or(TEXT),
        "id": anything_or(TEXT),
        "status": anything_or(TEXT),
    }
    return st.fixed_dictionaries({}, optional=fields) | GARBAGE


def tool_like() -> st.SearchStrategy[Any]:
    fields = {
        "type": anything_or(st.sampled_from(["function", "web_search"])),
        "name": anything_or(TEXT),
        "description": anything_or(TEXT),
        "parameters": anything_or(JSON_OBJECTS),
        "strict": anything_or(st.booleans()),
    }
    return st.fixed_dictionaries({}, optional=fields) | GARBAGE


CREATE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": anything_or(TEXT),
    "input": anything_or(TEXT | st.lists(item_like(), max_size=3)),
    "instructions": anything_or(TEXT),
    "tools": anything_or(st.lists(tool_like(), max_size=2)),
    "tool_choice": GARBAGE,
    "previous_response_id": anything_or(TEXT),
    "store": anything_or(st.booleans()),
    "temperature": anything_or(st.floats(-1, 3)),
    "top_p": anything_or(st.floats(-1, 2)),
    "max_output_tokens": anything_or(st.integers(-2, 5)),
    "prompt_cache_key": anything_or(TEXT),
    "metadata": anything_or(
        st.dictionaries(KEYS, GARBAGE, max_size=3)
        | st.fixed_dictionaries({"seed": anything_or(SEEDS | st.sampled_from(["²", "1" * 21]))})
    ),
    "parallel_tool_calls": anything_or(st.booleans()),
    "text": GARBAGE,
    "reasoning": GARBAGE,
    "truncation": anything_or(st.sampled_from(["auto", "disabled"])),
    "generate": anything_or(st.booleans()),
    "stream_id": anything_or(TEXT),
    "stream": GARBAGE,
    "background": GARBAGE,
    "prompt_cache_options": anything_or(st.fixed_dictionaries({"prewarm": st.booleans()})),
    "unknown_future_field": GARBAGE,
}
CLIENT_TYPES = st.sampled_from(["response.create", "response.steer"]) | GARBAGE | ODD


def dumped(value: Any, specials: list[str]) -> str:
    text = json.dumps(value, ensure_ascii=True)
    for i, spelling in enumerate(specials):
        text = text.replace(f'"\\u0000num{i}\\u0000"', spelling)
    return text


@st.composite
def structured_frames(draw: st.DrawFn) -> str:
    """A JSON object shaped like a client event, with a few fields, each right or wrong."""
    body = {"type": draw(CLIENT_TYPES) if draw(st.integers(0, 3)) == 0 else "response.create"}
    if draw(st.booleans()):
        body["model"] = "m"
    for name in draw(st.lists(st.sampled_from(sorted(CREATE_FIELDS)), max_size=4, unique=True)):
        body[name] = draw(CREATE_FIELDS[name])
    return dumped(body, NUMBER_SPELLINGS)


@st.composite
def mutated(draw: st.DrawFn, value: Any, replacement: st.SearchStrategy[Any]) -> Any:
    """``value`` (JSON) with one node, anywhere in it, replaced by ``replacement`` or removed."""
    value = copy.deepcopy(value)
    places: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            places += [(node, key) for key in keys]
            stack += [node[key] for key in keys]
    if not places:
        return draw(replacement)
    node, key = draw(st.sampled_from(places))
    if isinstance(node, dict) and draw(st.booleans()):
        del node[key]
    else:
        node[key] = draw(replacement)
    return value


@st.composite
def mangled_frames(draw: st.DrawFn) -> str:
    """A valid create frame, then cut short, nested deeply, or with one value anywhere in it
    replaced (by a wrong type, a lone surrogate, a non-finite number) or removed."""
    text = draw(CREATE_REQUESTS).ws_frame()
    how = draw(st.sampled_from(["cut", "nest", "replace"]))
    if how == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if how == "replace":
        return dumped(draw(mutated(json.loads(text), GARBAGE | ODD)), NUMBER_SPELLINGS)
    depth = draw(st.integers(1, 3000))
    inner = draw(st.sampled_from(["[]", "{}", "1", '"x"']))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested = opener * depth + inner + closer * depth
    name = draw(st.sampled_from(sorted(KNOWN_FIELDS - {"type", "model"})))
    return f'{{"type":"response.create","model":"m","{name}":{nested}}}'


FRAMES: st.SearchStrategy[str | bytes] = st.one_of(
    CREATE_REQUESTS.map(lambda request: request.ws_frame()),
    TEXT,
    st.binary(max_size=40),
    JSON.map(json.dumps),
    structured_frames(),
    structured_frames().map(lambda t: t.encode()),
    mangled_frames(),
)

_PATH = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def names_a_place_in(param: str, frame: Any) -> bool:
    """Whether ``param`` (``input[0].content``) is a path into ``frame``; its last step may be
    missing (a missing required parameter). ``(frame)`` names the frame itself."""
    if param == "(frame)":
        return True
    node = frame
    steps = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PATH.finditer(param)
    ]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if (isinstance(step, int) and isinstance(node, list) and step < len(node)) or (
            isinstance(step, str) and isinstance(node, dict) and step in node
        ):
            node = node[step]
        elif not (last and isinstance(node, dict)):
            return False
    return True


def plain_keys(value: Any) -> bool:
    """No key holds a character that a parameter path uses as punctuation."""
    stack = [value]  # iterative: frames nest deeper than Python recurses
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(re.search(r"[.\[\]]", k) for k in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def session() -> ConnectionSession:
    return ConnectionSession(ResponseStore(4), ids=lambda prefix: f"{prefix}_1", wall=lambda: 1.0)


def answer(session: ConnectionSession, frame: str | bytes) -> Reply | Start:
    session.receive_frame(frame)
    step = session.next_step(0.0)
    assert isinstance(step, Reply | Start), step
    assert session.next_step(0.0) is None
    return step


def sendable(event: Any) -> str:
    text = encode_event(event)
    text.encode("utf-8")  # a lone surrogate here would fail on the socket, far from its cause
    return text


def expected_refusal(request: CreateRequest) -> tuple[str | None, str] | None:
    """(code, param) of the 400 an empty-store session gives ``request``, or None to start."""
    if request.previous_response_id is not None:
        return ("previous_response_not_found", "previous_response_id")
    calls = {i.call_id for i in request.input if isinstance(i, FunctionCall)}
    if any(isinstance(i, FunctionCallOutput) and i.call_id not in calls for i in request.input):
        return (None, "input")
    return None


@given(FRAMES)
@example('{"type":"response.create","model":"m","input":"\\ud800"}')
@example('{"type":"response.create","model":"m","temperature":NaN}')
@example('{"type":"response.create","model":"m","metadata":{"seed":"\u00b2"}}')
@example(b"\xff\xfe binary junk")
def test_any_frame_becomes_a_typed_request_or_a_400(frame: str | bytes) -> None:
    try:
        parsed = parse_client_frame(frame)
    except InvalidRequest as exc:
        refusal: InvalidRequest | None = exc
    else:
        refusal = None
    connection = session()
    step = answer(connection, frame)

    if refusal is not None or isinstance(parsed, UnknownClientEvent):
        assert isinstance(step, Reply)
        (error,) = step.events
        assert isinstance(error, ErrorEvent)
        info = error.error
        event(f"400 {info.code}")
        assert (info.status, info.type) == (400, "invalid_request_error")
        if refusal is None:
            assert (info.code, info.param) == ("unknown_event_type", "type")
        else:
            assert info == refusal.info
            obj = _loads_or_none(frame)
            if info.param is not None and plain_keys(obj):
                assert names_a_place_in(info.param, obj), (info.param, obj)
        again = parse_server_event(sendable(error))
        assert isinstance(again, ErrorEvent)
        assert again.error == info
    elif isinstance(parsed, SteerRequest):
        event("steer refused")
        assert isinstance(step, Reply)
        (steer,) = step.events
        assert isinstance(steer, SteerFailed)
        assert steer.code == "steering_not_supported"
        sendable(steer)
    else:
        assert isinstance(parsed, CreateRequest)
        refused = expected_refusal(parsed)
        event(f"create: {'started' if refused is None else refused[0]}")
        if refused is None:
            assert isinstance(step, Start)
            assert step.turn.request == parsed
            assert step.turn.prompt.items == parsed.input
            for started in step.turn.builder.start():
                assert parse_server_event(sendable(started)) == started
            connection.abandon(step.turn)
        else:
            assert isinstance(step, Reply)
            (error,) = step.events
            assert isinstance(error, ErrorEvent)
            assert (error.error.status, error.error.code, error.error.param) == (400, *refused)
            assert error.to_json().get("stream_id") == (parsed.stream_id or None)
            sendable(error)
    # Whatever came before, the connection still serves a valid request.
    assert isinstance(answer(connection, '{"type":"response.create","model":"m"}'), Start)


def _loads_or_none(frame: str | bytes) -> Any:
    """The frame as plain ``json`` reads it (lone surrogates and NaN included), or None."""
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):
        return None


@given(st.lists(FRAMES, min_size=1, max_size=8))
def test_replies_come_one_per_frame_in_request_order(frames: list[str | bytes]) -> None:
    """Frames that arrive together are answered in order, each as it would be alone."""
    alone = [_outcome(answer(session(), frame)) for frame in frames]
    connection = session()
    for frame in frames:
        connection.receive_frame(frame)
    together = []
    while (step := connection.next_step(0.0)) is not None:
        assert isinstance(step, Reply | Start)
        together.append(_outcome(step))
        if isinstance(step, Start):
            connection.abandon(step.turn)
    assert together == alone


def _outcome(step: Reply | Start) -> Any:
    if isinstance(step, Start):
        return ("start", step.turn.request)
    return [e.to_json() for e in step.events]
