"""Conversation items: what ``input`` carries and what ``output`` returns.

The Responses API uses one item vocabulary for both directions. We type the three items a coding
agent lives on (messages, function calls, function call outputs); every other item type
(reasoning, item references, …) is kept whole as ``OtherItem`` so it survives a round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from codeagent.protocol import wire
from codeagent.protocol.wire import JsonObject


@dataclass(frozen=True, slots=True)
class InputText:
    text: str


@dataclass(frozen=True, slots=True)
class OutputText:
    text: str


@dataclass(frozen=True, slots=True)
class OtherContent:
    """A content part we do not interpret (images, files, refusals), kept verbatim."""

    data: JsonObject


Content = InputText | OutputText | OtherContent


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: tuple[Content, ...]
    id: str | None = None
    status: str | None = None

    @property
    def text(self) -> str:
        """The concatenated text of the message's text parts."""
        return "".join(p.text for p in self.content if isinstance(p, InputText | OutputText))


@dataclass(frozen=True, slots=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionCallOutput:
    call_id: str
    output: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class OtherItem:
    """An item type we do not interpret, kept verbatim."""

    data: JsonObject = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))


Item = Message | FunctionCall | FunctionCallOutput | OtherItem


def user_message(text: str) -> Message:
    return Message(role="user", content=(InputText(text),))


def assistant_message(text: str, *, id: str | None = None) -> Message:
    return Message(role="assistant", content=(OutputText(text),), id=id, status="completed")


def content_from_json(value: Any, where: str, role: str) -> tuple[Content, ...]:
    if isinstance(value, str):
        return (OutputText(value) if role == "assistant" else InputText(value),)
    if not isinstance(value, list):
        raise wire.invalid(
            f"Invalid type for '{where}': expected a string or an array.", param=where
        )
    parts: list[Content] = []
    for i, part in enumerate(value):
        if not isinstance(part, dict):
            raise wire.invalid(f"Invalid type for '{where}[{i}]': expected an object.", param=where)
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            text = wire.required(part, "text", str, f"{where}[{i}].")
            parts.append(InputText(text) if kind == "input_text" else OutputText(text))
        else:
            parts.append(OtherContent(dict(part)))
    return tuple(parts)


def content_to_json(part: Content) -> JsonObject:
    if isinstance(part, InputText):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, OutputText):
        return {"type": "output_text", "text": part.text, "annotations": []}
    return dict(part.data)


def item_from_json(obj: Any, where: str) -> Item:
    """One item; a message may leave out ``type`` (the API's "easy input message")."""
    if not isinstance(obj, dict):
        raise wire.invalid(f"Invalid type for '{where}': expected an object.", param=where)
    kind = obj.get("type", "message" if "role" in obj else None)
    prefix = where + "."
    if kind == "message":
        role = wire.required(obj, "role", str, prefix)
        if "content" not in obj:
            wire.required(obj, "content", str, prefix)
        content = content_from_json(obj["content"], prefix + "content", role)
        return Message(
            role=role,
            content=content,
            id=wire.optional(obj, "id", str, prefix),
            status=wire.optional(obj, "status", str, prefix),
        )
    if kind == "function_call":
        return FunctionCall(
            call_id=wire.required(obj, "call_id", str, prefix),
            name=wire.required(obj, "name", str, prefix),
            arguments=wire.field(obj, "arguments", str, prefix, ""),
            id=wire.optional(obj, "id", str, prefix),
            status=wire.optional(obj, "status", str, prefix),
        )
    if kind == "function_call_output":
        output = obj.get("output")
        if output is None:
            wire.required(obj, "output", str, prefix)
        return FunctionCallOutput(
            call_id=wire.required(obj, "call_id", str, prefix),
            # The API also accepts a list of content parts; we keep that as its JSON text.
            output=output if isinstance(output, str) else wire.encode(output),
            id=wire.optional(obj, "id", str, prefix),
        )
    if not isinstance(kind, str):
        raise wire.invalid(f"Missing required parameter: '{prefix}type'.", param=prefix + "type")
    return OtherItem(dict(obj))


def item_to_json(item: Item) -> JsonObject:
    if isinstance(item, Message):
        if item.id is None and item.status is None and _plain_input(item):
            # The API's "easy input message": the same item in fewer bytes.
            return {"role": item.role, "content": item.text}
        out: JsonObject = {"type": "message", "role": item.role}
        if item.id is not None:
            out["id"] = item.id
        if item.status is not None:
            out["status"] = item.status
        out["content"] = [content_to_json(p) for p in item.content]
        return out
    if isinstance(item, FunctionCall):
        out = {"type": "function_call", "call_id": item.call_id, "name": item.name}
        out["arguments"] = item.arguments
        if item.id is not None:
            out["id"] = item.id
        if item.status is not None:
            out["status"] = item.status
        return out
    if isinstance(item, FunctionCallOutput):
        out = {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
        if item.id is not None:
            out["id"] = item.id
        return out
    return dict(item.data)


def _plain_input(message: Message) -> bool:
    """Whether the easy form decodes back to ``message``: string content is read as
    ``output_text`` for the assistant, as ``input_text`` for any other role."""
    return (
        message.role != "assistant"
        and len(message.content) == 1
        and isinstance(message.content[0], InputText)
    )


def input_from_json(value: Any, where: str = "input") -> tuple[Item, ...]:
    """The ``input`` field: a string (one user message) or an array of items."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (user_message(value),)
    if not isinstance(value, list):
        raise wire.invalid(
            f"Invalid type for '{where}': expected a string or an array.", param=where
        )
    return tuple(item_from_json(obj, f"{where}[{i}]") for i, obj in enumerate(value))


def items_to_json(items: Iterable[Item]) -> list[JsonObject]:
    return [item_to_json(i) for i in items]
