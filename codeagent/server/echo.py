"""``EchoBackend``: a deterministic backend that exercises every path of the server.

It is not a model. Its rules, applied to the last input item:

- a user message ``/call NAME {json}`` where ``NAME`` is one of the request's function tools:
  a function call with those arguments;
- a user message starting with ``/fail``: some text, then a ``BackendError`` (``response.failed``);
- a ``function_call_output``: ``"NAME returned: OUTPUT"`` (the output cut to 200 characters);
- any other user message: ``"echo: TEXT"``; anything else: ``"ok"``.

Text streams one token at a time (``token_delay`` seconds each) and stops at
``max_output_tokens`` (``response.incomplete``). With ``context_tokens`` set, a prompt of more
tokens is refused with ``context_length_exceeded``, as a real model's window would. Like a real
backend it keeps, per connection, the token sequence it last processed; a continuation whose
rendering starts with that sequence skips the prefill work for it (``prefill_delay`` seconds a
token) and reports those tokens as ``cached_tokens``. Tokens here are words and punctuation
marks.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from codeagent.errors import BackendError
from codeagent.model.slots import common_prefix
from codeagent.protocol.generation import (
    Accepted,
    CallDelta,
    CallStart,
    Chunk,
    Finish,
    Prompt,
    TextDelta,
    context_length_exceeded,
)
from codeagent.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    Item,
    Message,
    OutputText,
    item_to_json,
)
from codeagent.protocol.request import FunctionTool, tool_to_json
from codeagent.protocol.response import Usage

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def render(prompt: Prompt) -> list[str]:
    """The prompt as one token sequence: instructions, tools, then each item in order."""
    out = tokens(prompt.instructions or "")
    for tool in prompt.tools:
        out += tokens(json.dumps(tool_to_json(tool), sort_keys=True))
    for item in prompt.items:
        out += render_item(item)
    return out


def render_item(item: Item) -> list[str]:
    if isinstance(item, Message):
        return [f"<{item.role}>", *tokens(item.text)]
    if isinstance(item, FunctionCall):
        return ["<call>", item.name, *tokens(item.arguments)]
    if isinstance(item, FunctionCallOutput):
        return ["<output>", *tokens(item.output)]
    return ["<item>", *tokens(json.dumps(item_to_json(item), sort_keys=True))]


@dataclass
class EchoCache:
    """What one connection's "KV state" holds: the last processed token sequence."""

    tokens: list[str] = field(default_factory=list)


class EchoBackend:
    name = "echo"

    def __init__(
        self,
        *,
        model: str = "codeagent-echo",
        token_delay: float = 0.0,
        prefill_delay: float = 0.0,
        context_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.token_delay = token_delay
        self.prefill_delay = prefill_delay
        self.context_tokens = context_tokens

    def open_cache(self) -> object:
        return EchoCache()

    def close_cache(self, cache: object) -> None:
        if isinstance(cache, EchoCache):
            cache.tokens = []

    async def prepare(self, prompt: Prompt, cache: object | None) -> Usage:
        sequence = self._admit(prompt)
        reused = await self._prefill(sequence, cache)
        return self._usage(sequence, reused, cache, 0)

    async def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        sequence = self._admit(prompt)
        yield Accepted()
        reused = await self._prefill(sequence, cache)
        limit = prompt.max_output_tokens
        produced: list[Item] = []
        emitted = 0
        reason = "stop"
        last = prompt.items[-1] if prompt.items else None
        call = self._call_for(last, prompt)
        if call is not None:
            name, arguments = call
            yield CallStart(name)
            yield CallDelta(arguments)
            produced.append(FunctionCall("", name, arguments))
            emitted = len(tokens(arguments)) + 1
        else:
            text = self._text_for(last, prompt.items)
            pieces: list[str] = []
            for piece in _PIECE.findall(text):
                if limit is not None and emitted >= limit:
                    reason = "max_output_tokens"
                    break
                if self.token_delay:
                    await asyncio.sleep(self.token_delay)
                pieces.append(piece)
                emitted += 1
                yield TextDelta(piece)
            produced.append(Message("assistant", (OutputText("".join(pieces)),)))
            if isinstance(last, Message) and last.text.startswith("/fail"):
                raise BackendError("the echo backend was asked to fail")
        if isinstance(cache, EchoCache):
            cache.tokens = sequence + [t for i in produced for t in render_item(i)]
        yield Finish(self._usage(sequence, reused, cache, emitted), reason)

    def _admit(self, prompt: Prompt) -> list[str]:
        sequence = render(prompt)
        if self.context_tokens is not None and len(sequence) > self.context_tokens:
            raise context_length_exceeded(
                f"the prompt has {len(sequence)} tokens and the context holds "
                f"{self.context_tokens}."
            )
        return sequence

    @staticmethod
    def _usage(sequence: list[str], reused: int, cache: object | None, output: int) -> Usage:
        written = len(sequence) - reused if isinstance(cache, EchoCache) else 0
        return Usage(
            input_tokens=len(sequence),
            cached_tokens=reused,
            output_tokens=output,
            cache_write_tokens=written,
        )

    async def _prefill(self, sequence: list[str], cache: object | None) -> int:
        reused = common_prefix(cache.tokens, sequence) if isinstance(cache, EchoCache) else 0
        if self.prefill_delay:
            await asyncio.sleep(self.prefill_delay * (len(sequence) - reused))
        else:
            await asyncio.sleep(0)
        if isinstance(cache, EchoCache):
            cache.tokens = sequence
        return reused

    @staticmethod
    def _call_for(last: Item | None, prompt: Prompt) -> tuple[str, str] | None:
        if not isinstance(last, Message) or not last.text.startswith("/call "):
            return None
        _, _, rest = last.text.partition(" ")
        name, _, arguments = rest.strip().partition(" ")
        names = {t.name for t in prompt.tools if isinstance(t, FunctionTool)}
        if name not in names:
            return None
        return name, arguments.strip() or "{}"

    @staticmethod
    def _text_for(last: Item | None, items: tuple[Item, ...]) -> str:
        if isinstance(last, FunctionCallOutput):
            names = {i.call_id: i.name for i in items if isinstance(i, FunctionCall)}
            return f"{names.get(last.call_id, 'tool')} returned: {last.output[:200]}"
        if isinstance(last, Message) and last.role == "user":
            return f"echo: {last.text}"
        return "ok"
