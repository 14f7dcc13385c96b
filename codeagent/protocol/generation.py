"""What a model backend is given and what it streams back, independent of any wire format.

The server turns a ``response.create`` plus the resolved chain into a ``Prompt``; a backend turns
a ``Prompt`` into ``Chunk``s; ``ResponseBuilder`` turns chunks into the ordered event stream.
"""

from __future__ import annotations

from dataclasses import dataclass

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


Chunk = TextDelta | CallStart | CallDelta | Finish
