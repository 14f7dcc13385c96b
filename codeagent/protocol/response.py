"""The response object and its usage, as the server sends them and the client reads them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from codeagent.errors import ErrorInfo
from codeagent.protocol import wire
from codeagent.protocol.items import FunctionCall, Item, Message, item_from_json, items_to_json
from codeagent.protocol.request import CreateRequest, tool_to_json
from codeagent.protocol.wire import JsonObject


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    cached_tokens: int = 0
    """Input tokens really reused from a kept state, not processed again."""
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0
    """Input tokens processed and kept for reuse (the ``openai`` SDK 3.x requires the field)."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> JsonObject:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            },
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str = "response.usage") -> Usage:
        """Read a usage object; an absent or null count is 0, and anything but an object of
        non-negative integers raises ``InvalidRequest`` naming the field."""
        if not isinstance(obj, dict):
            raise wire.invalid(f"Invalid type for '{where}': expected an object.", param=where)
        inputs = wire.field(obj, "input_tokens_details", dict, f"{where}.", {})
        outputs = wire.field(obj, "output_tokens_details", dict, f"{where}.", {})
        in_where, out_where = f"{where}.input_tokens_details", f"{where}.output_tokens_details"
        return cls(
            input_tokens=_count(obj, "input_tokens", where),
            cached_tokens=_count(inputs, "cached_tokens", in_where),
            output_tokens=_count(obj, "output_tokens", where),
            reasoning_tokens=_count(outputs, "reasoning_tokens", out_where),
            cache_write_tokens=_count(inputs, "cache_write_tokens", in_where),
        )


def _count(obj: JsonObject, key: str, where: str) -> int:
    count = wire.field(obj, key, int, f"{where}.", 0)
    if count < 0:
        raise wire.invalid(
            f"Invalid '{where}.{key}': a token count cannot be negative.", param=f"{where}.{key}"
        )
    return count


Status = str  # "in_progress" | "completed" | "failed" | "incomplete"


@dataclass(frozen=True, slots=True)
class Response:
    """The response object. ``request`` supplies the echoed request fields."""

    id: str
    created_at: int
    status: Status
    model: str
    output: tuple[Item, ...] = ()
    usage: Usage | None = None
    previous_response_id: str | None = None
    store: bool = True
    instructions: str | None = None
    completed_at: int | None = None
    error: ErrorInfo | None = None
    incomplete_reason: str | None = None
    echo: JsonObject = field(default_factory=dict)
    """Request fields echoed back verbatim (tools, tool_choice, temperature, …)."""

    @classmethod
    def start(cls, id: str, created_at: int, request: CreateRequest) -> Response:
        """A new in-progress response for ``request``."""
        return cls(
            id=id,
            created_at=created_at,
            status="in_progress",
            model=request.model,
            previous_response_id=request.previous_response_id,
            store=request.store,
            instructions=request.instructions,
            echo={
                "tools": [tool_to_json(t) for t in request.tools],
                "tool_choice": request.tool_choice,
                "parallel_tool_calls": request.parallel_tool_calls,
                "temperature": request.temperature if request.temperature is not None else 1.0,
                "top_p": request.top_p if request.top_p is not None else 1.0,
                "max_output_tokens": request.max_output_tokens,
                "text": request.text or {"format": {"type": "text"}},
                "truncation": request.truncation or "disabled",
                "metadata": request.metadata,
                "reasoning": request.reasoning,
            },
        )

    @property
    def output_text(self) -> str:
        """All assistant text of the output, concatenated."""
        return "".join(i.text for i in self.output if isinstance(i, Message))

    @property
    def function_calls(self) -> tuple[FunctionCall, ...]:
        return tuple(i for i in self.output if isinstance(i, FunctionCall))

    def finished(
        self,
        status: Status,
        completed_at: int | None,
        output: tuple[Item, ...],
        usage: Usage,
        *,
        error: ErrorInfo | None = None,
        incomplete_reason: str | None = None,
    ) -> Response:
        return replace(
            self,
            status=status,
            completed_at=completed_at,
            output=output,
            usage=usage,
            error=error,
            incomplete_reason=incomplete_reason,
        )

    def to_json(self) -> JsonObject:
        error = None
        if self.error is not None:
            error = {"code": self.error.code or "server_error", "message": self.error.message}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "completed_at": self.completed_at,
            "error": error,
            "incomplete_details": (
                {"reason": self.incomplete_reason} if self.incomplete_reason else None
            ),
            "instructions": self.instructions,
            "model": self.model,
            "output": items_to_json(self.output),
            "previous_response_id": self.previous_response_id,
            "store": self.store,
            "usage": self.usage.to_json() if self.usage is not None else None,
            **self.echo,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Response:
        """Read a response object; raises ``InvalidRequest`` (a ``ProtocolError``) if malformed."""
        if not isinstance(obj, dict):
            raise wire.invalid("response must be an object", param="response")
        known = {
            "id", "object", "created_at", "status", "completed_at", "error", "incomplete_details",
            "instructions", "model", "output", "previous_response_id", "store", "usage",
        }  # fmt: skip
        err = obj.get("error")
        incomplete = obj.get("incomplete_details")
        raw_output = wire.field(obj, "output", list, "response.", [])
        return cls(
            id=wire.required(obj, "id", str, "response."),
            created_at=wire.field(obj, "created_at", int, "response.", 0),
            status=wire.field(obj, "status", str, "response.", "completed"),
            model=wire.field(obj, "model", str, "response.", ""),
            output=tuple(
                item_from_json(o, f"response.output[{i}]") for i, o in enumerate(raw_output)
            ),
            usage=Usage.from_json(obj["usage"]) if obj.get("usage") is not None else None,
            previous_response_id=wire.optional(obj, "previous_response_id", str, "response."),
            store=wire.field(obj, "store", bool, "response.", True),
            instructions=wire.optional(obj, "instructions", str, "response."),
            completed_at=wire.optional(obj, "completed_at", int, "response."),
            error=_failure(err),
            incomplete_reason=_reason(incomplete),
            echo=wire.without(obj, frozenset(known)),
        )


def _failure(err: Any) -> ErrorInfo | None:
    """``response.error``, ``{code, message}``; without a code it is the ``server_error`` that
    ``to_json`` writes, so reading and writing agree."""
    if not isinstance(err, dict):
        return None
    code, message = err.get("code"), err.get("message")
    return ErrorInfo(
        500,
        "server_error",
        code if isinstance(code, str) and code else "server_error",
        message if isinstance(message, str) else "",
    )


def _reason(incomplete: Any) -> str | None:
    """``incomplete_details.reason``, or None where there is none (not the text "None")."""
    reason = incomplete.get("reason") if isinstance(incomplete, dict) else None
    return reason if isinstance(reason, str) and reason else None
