"""Server events: the same objects over WebSocket frames and SSE ``data:`` lines.

``parse_server_event`` never raises for an unknown ``type`` (it returns ``UnknownEvent``) and
keeps unknown fields of known events in ``extra``; malformed known events raise ``StreamError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codeagent.errors import ErrorInfo, InvalidRequest, StreamError
from codeagent.protocol import wire
from codeagent.protocol.items import Content, Item, content_to_json, item_from_json, item_to_json
from codeagent.protocol.items import content_from_json as _content_from_json
from codeagent.protocol.response import Response
from codeagent.protocol.wire import JsonObject

# Lifecycle events carry the whole response object.
LIFECYCLE = (
    "response.created",
    "response.in_progress",
    "response.completed",
    "response.failed",
    "response.incomplete",
)
TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """``response.created`` / ``in_progress`` / ``completed`` / ``failed`` / ``incomplete``."""

    type: str
    response: Response
    sequence_number: int
    extra: JsonObject = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "sequence_number": self.sequence_number,
            "response": self.response.to_json(),
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class OutputItemEvent:
    """``response.output_item.added`` / ``response.output_item.done``."""

    type: str
    output_index: int
    item: Item
    sequence_number: int
    extra: JsonObject = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "sequence_number": self.sequence_number,
            "output_index": self.output_index,
            "item": item_to_json(self.item),
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class ContentPartEvent:
    """``response.content_part.added`` / ``response.content_part.done``."""

    type: str
    item_id: str
    output_index: int
    content_index: int
    part: Content
    sequence_number: int
    extra: JsonObject = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "sequence_number": self.sequence_number,
            "item_id": self.item_id,
            "output_index": self.output_index,
            "content_index": self.content_index,
            "part": content_to_json(self.part),
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class TextEvent:
    """``response.output_text.delta`` (``text`` is the delta) / ``response.output_text.done``."""

    type: str
    item_id: str
    output_index: int
    content_index: int
    text: str
    sequence_number: int
    extra: JsonObject = field(default_factory=dict)

    @property
    def is_delta(self) -> bool:
        return self.type.endswith(".delta")

    def to_json(self) -> JsonObject:
        key = "delta" if self.type.endswith(".delta") else "text"
        return {
            "type": self.type,
            "sequence_number": self.sequence_number,
            "item_id": self.item_id,
            "output_index": self.output_index,
            "content_index": self.content_index,
            key: self.text,
            "logprobs": [],
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class ArgumentsEvent:
    """``response.function_call_arguments.delta`` (``arguments`` is the delta) / ``.done``."""

    type: str
    item_id: str
    output_index: int
    arguments: str
    sequence_number: int
    name: str | None = None
    extra: JsonObject = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        done = self.type.endswith(".done")
        out: JsonObject = {
            "type": self.type,
            "sequence_number": self.sequence_number,
            "item_id": self.item_id,
            "output_index": self.output_index,
            ("arguments" if done else "delta"): self.arguments,
        }
        if self.name is not None:
            out["name"] = self.name
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An ``error`` event. ``to_json`` is the WebSocket envelope; ``sse_json`` the flat SSE one."""

    error: ErrorInfo
    sequence_number: int | None = None
    extra: JsonObject = field(default_factory=dict)

    type: str = "error"

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            "type": self.error.type,
            "code": self.error.code,
            "message": self.error.message,
            "param": self.error.param,
        }
        out: JsonObject = {"type": "error", "status": self.error.status, "error": body}
        if self.sequence_number is not None:
            out["sequence_number"] = self.sequence_number
        out.update(self.extra)
        return out

    def sse_json(self, sequence_number: int) -> JsonObject:
        return {
            "type": "error",
            "code": self.error.code,
            "message": self.error.message,
            "param": self.error.param,
            "sequence_number": sequence_number,
        }


@dataclass(frozen=True, slots=True)
class SteerFailed:
    """``response.steer.failed``: we accept no steering input."""

    previous_response_id: str | None
    code: str
    message: str
    steer: JsonObject
    type: str = "response.steer.failed"

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "error": {"type": "invalid_request_error", "code": self.code, "message": self.message},
            "steer": {
                "input": self.steer.get("input", []),
                "previous_response_id": self.previous_response_id or "",
            },
        }


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event type this version does not know; kept whole."""

    type: str
    data: JsonObject

    def to_json(self) -> JsonObject:
        return dict(self.data)


ServerEvent = (
    ResponseEvent
    | OutputItemEvent
    | ContentPartEvent
    | TextEvent
    | ArgumentsEvent
    | ErrorEvent
    | SteerFailed
    | UnknownEvent
)


def encode_event(event: ServerEvent) -> str:
    return wire.encode(event.to_json())


def parse_server_event(text: str | bytes) -> ServerEvent:
    """One event from a WebSocket frame or an SSE ``data:`` payload."""
    try:
        with wire.parsing():  # the net under the field readers, as for client frames
            return _parse(wire.decode_object(text))
    except InvalidRequest as exc:
        raise StreamError(f"malformed server event: {exc}") from None


def _parse(obj: JsonObject) -> ServerEvent:
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise StreamError("server event without a type")
    seq = obj.get("sequence_number")
    seq_n = seq if isinstance(seq, int) else -1

    def extra(*keys: str) -> JsonObject:
        return wire.without(obj, frozenset({"type", "sequence_number", *keys}))

    if kind in LIFECYCLE:
        return ResponseEvent(
            kind, Response.from_json(obj.get("response")), seq_n, extra("response")
        )
    if kind in ("response.output_item.added", "response.output_item.done"):
        return OutputItemEvent(
            kind,
            wire.required(obj, "output_index", int, ""),
            item_from_json(obj.get("item"), "item"),
            seq_n,
            extra("output_index", "item"),
        )
    if kind in ("response.content_part.added", "response.content_part.done"):
        parts = _content_from_json([obj.get("part")], "part", "assistant")
        return ContentPartEvent(
            kind,
            wire.field(obj, "item_id", str, "", ""),
            wire.required(obj, "output_index", int, ""),
            wire.field(obj, "content_index", int, "", 0),
            parts[0],
            seq_n,
            extra("item_id", "output_index", "content_index", "part"),
        )
    if kind in ("response.output_text.delta", "response.output_text.done"):
        key = "delta" if kind.endswith(".delta") else "text"
        return TextEvent(
            kind,
            wire.field(obj, "item_id", str, "", ""),
            wire.required(obj, "output_index", int, ""),
            wire.field(obj, "content_index", int, "", 0),
            wire.required(obj, key, str, ""),
            seq_n,
            extra("item_id", "output_index", "content_index", key, "logprobs"),
        )
    if kind in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
        key = "delta" if kind.endswith(".delta") else "arguments"
        return ArgumentsEvent(
            kind,
            wire.field(obj, "item_id", str, "", ""),
            wire.required(obj, "output_index", int, ""),
            wire.required(obj, key, str, ""),
            seq_n,
            wire.optional(obj, "name", str, ""),
            extra("item_id", "output_index", key, "name"),
        )
    if kind == "error":
        return _parse_error(obj, seq)
    return UnknownEvent(kind, obj)


def _parse_error(obj: JsonObject, seq: Any) -> ErrorEvent:
    """Both envelopes: nested (WebSocket) and flat (SSE)."""
    nested = obj.get("error")
    body: dict[str, Any] = nested if isinstance(nested, dict) else obj
    status = obj.get("status")
    info = ErrorInfo(
        status=status if isinstance(status, int) else 400,
        type=str(body.get("type") or "invalid_request_error")
        if isinstance(nested, dict)
        else "server_error",
        code=body.get("code") if isinstance(body.get("code"), str) else None,
        message=str(body.get("message", "")),
        param=body.get("param") if isinstance(body.get("param"), str) else None,
    )
    return ErrorEvent(info, seq if isinstance(seq, int) else None)
