"""The ``response.create`` body and the other client events.

Over WebSocket the create body sits flat beside ``"type": "response.create"``; over HTTP it is
the POST body. ``CreateRequest`` is that body, typed; fields we do not know are kept in ``extra``
so a proxy can pass them on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from codeagent.protocol import wire
from codeagent.protocol.items import Item, input_from_json, items_to_json
from codeagent.protocol.wire import JsonObject


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    description: str = ""
    parameters: JsonObject = field(default_factory=dict)
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class OtherTool:
    """A hosted or custom tool we do not interpret, kept verbatim."""

    data: JsonObject


Tool = FunctionTool | OtherTool


def tool_from_json(obj: Any, where: str) -> Tool:
    if not isinstance(obj, dict):
        raise wire.invalid(f"Invalid type for '{where}': expected an object.", param=where)
    if obj.get("type") != "function":
        return OtherTool(dict(obj))
    prefix = where + "."
    return FunctionTool(
        name=wire.required(obj, "name", str, prefix),
        description=wire.field(obj, "description", str, prefix, ""),
        parameters=wire.field(obj, "parameters", dict, prefix, {}),
        strict=wire.optional(obj, "strict", bool, prefix),
    )


def tool_to_json(tool: Tool) -> JsonObject:
    if isinstance(tool, OtherTool):
        return dict(tool.data)
    out: JsonObject = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = tool.parameters
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def function_tool_json(tool: FunctionTool) -> JsonObject:
    """The Chat Completions (and Hermes prompt) shape: ``{"type": "function", "function": {...}}``
    holding what the Responses shape has flat."""
    flat = tool_to_json(tool)
    return {"type": "function", "function": {k: v for k, v in flat.items() if k != "type"}}


_KNOWN = frozenset(
    {
        "type", "model", "input", "instructions", "tools", "tool_choice", "previous_response_id",
        "store", "temperature", "top_p", "max_output_tokens", "prompt_cache_key", "metadata",
        "parallel_tool_calls", "text", "reasoning", "generate", "stream_id", "stream", "background",
        "truncation",
    }
)  # fmt: skip


_SEED = re.compile(r"-?[0-9]{1,20}")
"""ASCII digits only: ``str.isdigit()`` also accepts "²", which ``int()`` refuses."""


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """A ``response.create`` body. Defaults are the API's."""

    model: str
    input: tuple[Item, ...] = ()
    instructions: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: Any = "auto"
    previous_response_id: str | None = None
    store: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    prompt_cache_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    parallel_tool_calls: bool = True
    text: JsonObject | None = None
    reasoning: JsonObject | None = None
    truncation: str | None = None
    generate: bool = True
    """WebSocket mode only: ``False`` is a warmup that prepares state and produces no output."""
    stream_id: str | None = None
    extra: JsonObject = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: JsonObject) -> CreateRequest:
        """Validate a create body; raises ``InvalidRequest`` naming the bad parameter, and
        nothing else, whatever the values (``wire.parsing`` is the net under the checks)."""
        with wire.parsing():
            request = cls._from_json(obj)
            request.seed  # noqa: B018  (validated here, so reading it later cannot fail)
        return request

    @property
    def seed(self) -> int | None:
        """Our extension: ``metadata.seed``, a decimal integer, seeds sampling."""
        raw = self.metadata.get("seed")
        if raw is None:
            return None
        if not _SEED.fullmatch(raw):
            raise wire.invalid(
                "Invalid 'metadata.seed': expected a decimal integer of at most 20 digits.",
                param="metadata.seed",
                code="invalid_value",
            )
        return int(raw)

    @classmethod
    def _from_json(cls, obj: JsonObject) -> CreateRequest:
        if obj.get("background"):
            raise wire.invalid(
                "background is not supported in this mode.", param="background", code="unsupported"
            )
        raw_tools = wire.field(obj, "tools", list, "", [])
        max_tokens = wire.optional(obj, "max_output_tokens", int, "")
        if max_tokens is not None and max_tokens < 1:
            raise wire.invalid(
                "max_output_tokens must be at least 1.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
        metadata = wire.field(obj, "metadata", dict, "", {})
        cache_options = wire.field(obj, "prompt_cache_options", dict, "", {})
        # ``prompt_cache_options.prewarm: true`` overrides ``generate`` to false (SDK 3.x docs).
        generate = wire.field(obj, "generate", bool, "", True) and not cache_options.get("prewarm")
        return cls(
            model=wire.required(obj, "model", str, ""),
            input=input_from_json(obj.get("input")),
            instructions=wire.optional(obj, "instructions", str, ""),
            tools=tuple(tool_from_json(t, f"tools[{i}]") for i, t in enumerate(raw_tools)),
            tool_choice=obj.get("tool_choice", "auto"),
            previous_response_id=wire.optional(obj, "previous_response_id", str, ""),
            store=wire.field(obj, "store", bool, "", True),
            temperature=wire.number(obj, "temperature", "", minimum=0, maximum=2),
            top_p=wire.number(obj, "top_p", "", minimum=0, maximum=1),
            max_output_tokens=max_tokens,
            prompt_cache_key=wire.optional(obj, "prompt_cache_key", str, ""),
            metadata={str(k): str(v) for k, v in metadata.items()},
            parallel_tool_calls=wire.field(obj, "parallel_tool_calls", bool, "", True),
            text=wire.optional(obj, "text", dict, ""),
            reasoning=wire.optional(obj, "reasoning", dict, ""),
            truncation=wire.optional(obj, "truncation", str, ""),
            generate=generate,
            stream_id=wire.optional(obj, "stream_id", str, ""),
            extra=wire.without(obj, _KNOWN),
        )

    def to_json(self) -> JsonObject:
        """The body, with only the fields that differ from the API defaults (fewer bytes)."""
        out: JsonObject = {"model": self.model}
        if self.previous_response_id is not None:
            out["previous_response_id"] = self.previous_response_id
        if self.instructions is not None:
            out["instructions"] = self.instructions
        if self.tools:
            out["tools"] = [tool_to_json(t) for t in self.tools]
        if self.tool_choice != "auto":
            out["tool_choice"] = self.tool_choice
        if not self.store:
            out["store"] = False
        optional_fields: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_output_tokens": self.max_output_tokens,
            "prompt_cache_key": self.prompt_cache_key,
            "text": self.text,
            "reasoning": self.reasoning,
            "truncation": self.truncation,
            "stream_id": self.stream_id,
        }
        out.update({k: v for k, v in optional_fields.items() if v is not None})
        if self.metadata:
            out["metadata"] = self.metadata
        if not self.parallel_tool_calls:
            out["parallel_tool_calls"] = False
        if not self.generate:
            out["generate"] = False
        out.update(self.extra)
        out["input"] = items_to_json(self.input)
        return out

    def ws_frame(self) -> str:
        """The WebSocket text frame: the body flat beside ``"type"``."""
        return wire.encode({"type": "response.create", **self.to_json()})

    def http_body(self) -> str:
        """The HTTP POST body for a streamed response (``generate`` is WebSocket-only)."""
        body = self.to_json()
        body.pop("generate", None)
        body["stream"] = True
        return wire.encode(body)

    def continuing(
        self, previous_response_id: str | None, input: tuple[Item, ...]
    ) -> CreateRequest:
        return replace(self, previous_response_id=previous_response_id, input=input)


@dataclass(frozen=True, slots=True)
class SteerRequest:
    """``response.steer``: user input for a running response. We parse it only to refuse it."""

    previous_response_id: str | None
    data: JsonObject


@dataclass(frozen=True, slots=True)
class UnknownClientEvent:
    type: str
    data: JsonObject


ClientEvent = CreateRequest | SteerRequest | UnknownClientEvent


def parse_client_frame(frame: str | bytes) -> ClientEvent:
    """One WebSocket text frame from a client. Raises ``InvalidRequest`` for bad frames.

    An unknown ``type`` is returned as ``UnknownClientEvent``: the caller answers an error and
    keeps the socket open.
    """
    obj = wire.decode_object(frame)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise wire.invalid("Missing required parameter: 'type'.", param="type", code="missing_type")
    if kind == "response.create":
        return CreateRequest.from_json(obj)
    if kind == "response.steer":
        prev = obj.get("previous_response_id")
        return SteerRequest(prev if isinstance(prev, str) else None, obj)
    return UnknownClientEvent(kind, obj)
