"""What a model backend is given and what it streams back, independent of any wire format.

The server turns a ``response.create`` plus the resolved chain into a ``Prompt``; a backend turns
a ``Prompt`` into ``Chunk``s; ``ResponseBuilder`` turns chunks into the ordered event stream.

A backend's stream starts with ``Accepted`` as soon as it knows the prompt fits, before any slow
work (a prefill, an upstream's first token): only then does the server send ``response.created``.
Before it, the backend may refuse the prompt by raising ``InvalidRequest`` (e.g.
``context_length_exceeded``), which the client gets as a 400 with no response started, so the
response it continued from stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeagent.errors import InvalidRequest
from codeagent.protocol import wire
from codeagent.protocol.items import Item
from codeagent.protocol.request import CreateRequest, Tool
from codeagent.protocol.response import Usage


@dataclass(frozen=True, slots=True)
class Prompt:
    """The conversation a backend renders: instructions first, then tools, then the items."""

    instructions: str | None
    tools: tuple[Tool, ...]
    items: tuple[Item, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    model: str | None = None
    """The model the request named (a proxy backend may pass it on)."""

    @classmethod
    def of(cls, request: CreateRequest, items: tuple[Item, ...]) -> Prompt:
        return cls(
            instructions=request.instructions,
            tools=request.tools,
            items=items,
            temperature=request.temperature,
            top_p=request.top_p,
            max_output_tokens=request.max_output_tokens,
            seed=request.seed,
            model=request.model,
        )


def context_length_exceeded(detail: str) -> InvalidRequest:
    """The 400 that OpenAI answers for a prompt over the context window; clients (Codex among
    them) compact their history and retry on this code."""
    return wire.invalid(
        f"Your input exceeds the context window of this model: {detail}",
        param="input",
        code="context_length_exceeded",
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    """The backend has taken the prompt (it fits); output follows."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class CallStart:
    """A function call begins; its arguments follow as ``CallDelta``s."""

    name: str
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallDelta:
    arguments: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The last chunk: usage, and why generation stopped (``"stop"`` or ``"max_output_tokens"``)."""

    usage: Usage
    reason: str = "stop"


Chunk = Accepted | TextDelta | CallStart | CallDelta | Finish
