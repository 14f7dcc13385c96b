"""``ScriptedBackend``: a strict model that plays a fixed list of outputs, for ``codeagent serve``.

Tests of the agent put it behind a real server (``codeagent serve --backend scripted --script
FILE``, or ``BackgroundServer`` in-process) so the agent speaks the real protocol over a real
connection, and drive the paths a small model rarely takes. Each generated response consumes
the next step; a warmup (``generate: false``) consumes none. Strict: a response asked for after
the last step, or a step whose ``expect`` text is not in the request's last input item, fails
that response (``response.failed`` naming the step), so a test whose script and agent drift
apart fails loudly instead of passing by accident.

Script file: a JSON array of steps, each an object with one of
``{"say": TEXT}``, ``{"call": NAME, "arguments": {...}}`` (a function call), ``{"crash": true}``
(the server process exits at once: a server dying mid-run), ``{"context_full": true}`` (the
request is refused with ``context_length_exceeded``, as a full context window would), and
optionally ``"expect": TEXT``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeagent.errors import BackendError, ConfigError
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
from codeagent.protocol.items import FunctionCallOutput, Message
from codeagent.protocol.response import Usage


@dataclass(frozen=True, slots=True)
class Step:
    say: str | None = None
    call: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    crash: bool = False
    context_full: bool = False
    expect: str | None = None
    """Text that must appear in the last input item of the request this step answers."""
    stall: float = 0.0
    """Seconds of silence after the response is created, before any output: a stalled
    server, for the client's idle timeout (the step still counts as played)."""

    @classmethod
    def from_json(cls, obj: Any, index: int) -> Step:
        if not isinstance(obj, dict):
            raise ConfigError(f"script step {index} must be an object")
        step = cls(
            say=obj.get("say"),
            call=obj.get("call"),
            arguments=dict(obj.get("arguments") or {}),
            crash=bool(obj.get("crash")),
            context_full=bool(obj.get("context_full")),
            expect=obj.get("expect"),
            stall=_seconds(obj.get("stall", 0.0), index),
        )
        kinds = (step.say is not None, step.call is not None, step.crash, step.context_full)
        if sum(kinds) != 1:
            raise ConfigError(
                f"script step {index} needs exactly one of say, call, crash, context_full"
            )
        return step


def _seconds(value: object, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 3600:
        raise ConfigError(f"script step {index}: stall must be seconds (0 to 3600)")
    return float(value)


def read_script(path: str | Path) -> list[Step]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the script {path}: {exc}") from exc
    if not isinstance(data, list):
        raise ConfigError(f"the script {path} must be a JSON array of steps")
    return [Step.from_json(obj, i) for i, obj in enumerate(data)]


class ScriptedBackend:
    name = "scripted"

    def __init__(self, steps: Sequence[Step], *, model: str = "scripted") -> None:
        self.model = model
        self.steps = list(steps)
        self.played = 0
        self.prompts: list[Prompt] = []
        """Every prompt a response was generated for, in order (for assertions)."""

    def open_cache(self) -> object:
        return None

    def close_cache(self, cache: object) -> None:
        pass

    async def prepare(self, prompt: Prompt, cache: object | None) -> Usage:
        return Usage(input_tokens=_words(prompt))

    async def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        index = self.played
        if index >= len(self.steps):
            raise BackendError(
                f"script exhausted: response {index + 1} asked for, {len(self.steps)} scripted"
            )
        step = self.steps[index]
        self.played += 1
        self.prompts.append(prompt)
        last = _text_of(prompt.items[-1]) if prompt.items else ""
        if step.expect is not None and step.expect not in last:
            raise BackendError(
                f"script drift at step {index}: expected {step.expect!r} in the last input "
                f"item, got {last[:300]!r}"
            )
        if step.crash:
            os._exit(70)  # the whole server process dies, as a killed server would
        if step.context_full:
            raise context_length_exceeded(f"the script fills the window at step {index}")
        yield Accepted()
        if step.stall:
            await asyncio.sleep(step.stall)
        if step.call is not None:
            yield CallStart(step.call)
            arguments = json.dumps(step.arguments)
            yield CallDelta(arguments)
            output = len(arguments.split())
        else:
            text = step.say or ""
            for piece in _pieces(text):
                yield TextDelta(piece)
            output = len(text.split())
        yield Finish(Usage(input_tokens=_words(prompt), output_tokens=output))


def _text_of(item: object) -> str:
    if isinstance(item, Message):
        return item.text
    if isinstance(item, FunctionCallOutput):
        return item.output
    return str(item)


def _words(prompt: Prompt) -> int:
    return sum(len(_text_of(i).split()) for i in prompt.items) + len(
        (prompt.instructions or "").split()
    )


def _pieces(text: str) -> list[str]:
    """Streamed a few characters at a time, so clients see real deltas."""
    return [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
