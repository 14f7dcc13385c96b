"""``UpstreamBackend``: any OpenAI-compatible Chat Completions endpoint behind our server.

vLLM, Ollama, a llama.cpp server and OpenAI all speak ``POST /v1/chat/completions`` with
streaming; putting one behind ``codeagent serve --backend upstream --upstream-url URL`` gives it
the Responses API's WebSocket mode: our server keeps each connection's chain, and the upstream
gets the whole conversation each turn, as Chat Completions requires (its own prefix cache, e.g.
vLLM's automatic prefix caching, is what saves the prefill there). ``cached_tokens`` is what the
upstream reports in ``usage.prompt_tokens_details.cached_tokens``, never a guess.

The API key comes from an environment variable (``OPENAI_API_KEY`` unless told otherwise) and
never appears in a log line or an error message.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx

from codeagent.errors import BackendError, CodeagentError, ConfigError, InvalidRequest
from codeagent.protocol import wire
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
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Message, item_to_json
from codeagent.protocol.request import FunctionTool, function_tool_json
from codeagent.protocol.response import Usage
from codeagent.protocol.sse import SseDecoder


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    url: str
    """The base URL, e.g. ``http://127.0.0.1:8000/v1``; requests go to ``URL/chat/completions``."""
    model: str | None = None
    """The upstream's model; ``None``: the one each request names."""
    api_key: str | None = None
    timeout_s: float = 600.0

    def __repr__(self) -> str:
        key = "set" if self.api_key else None
        return f"UpstreamSettings(url={self.url!r}, model={self.model!r}, api_key={key})"


def chat_request(prompt: Prompt, model: str) -> dict[str, Any]:
    """The Chat Completions body for ``prompt`` (streaming, with usage in the last chunk)."""
    messages: list[dict[str, Any]] = []
    if prompt.instructions:
        messages.append({"role": "system", "content": prompt.instructions})
    for item in prompt.items:
        if isinstance(item, Message):
            role = "system" if item.role == "developer" else item.role
            messages.append({"role": role, "content": item.text})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last and last["role"] == "assistant":
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutput):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        else:
            messages.append({"role": "user", "content": json.dumps(item_to_json(item))})
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    tools = [function_tool_json(t) for t in prompt.tools if isinstance(t, FunctionTool)]
    if tools:
        body["tools"] = tools
    for key, value in (
        ("temperature", prompt.temperature),
        ("top_p", prompt.top_p),
        ("max_tokens", prompt.max_output_tokens),
        ("seed", prompt.seed),
    ):
        if value is not None:
            body[key] = value
    return body


class ChunkReader:
    """Chat Completions stream chunks in, our ``Chunk``s out (sans-I/O)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.reason = "stop"
        self._call_index: int | None = None

    def feed(self, data: dict[str, Any]) -> list[Chunk]:
        out: list[Chunk] = []
        usage = data.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            self.usage = Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                cached_tokens=int(details.get("cached_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            )
        for choice in data.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self._call_index = None
                out.append(TextDelta(str(delta["content"])))
            for call in delta.get("tool_calls") or ():
                index = call.get("index", 0)
                function = call.get("function") or {}
                if index != self._call_index:
                    self._call_index = index
                    out.append(CallStart(str(function.get("name") or ""), call.get("id")))
                if function.get("arguments"):
                    out.append(CallDelta(str(function["arguments"])))
            if choice.get("finish_reason") == "length":
                self.reason = "max_output_tokens"
        return out


class UpstreamBackend:
    name = "upstream"

    def __init__(self, settings: UpstreamSettings) -> None:
        if not settings.url.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream-url must be an http(s) URL, not {settings.url!r}")
        self.settings = settings
        self.model = settings.model or "upstream"
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"), headers=headers, timeout=settings.timeout_s
        )

    def open_cache(self) -> object:
        return None  # the upstream keeps whatever it keeps

    def close_cache(self, cache: object) -> None:
        pass

    async def prepare(self, prompt: Prompt, cache: object | None) -> Usage:
        """Chat Completions has no warmup: nothing is sent; the items chain on our side."""
        return Usage()

    async def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        reader = ChunkReader()
        model = self.settings.model or prompt.model
        if not model:
            raise BackendError("no model: name one in the request or serve --upstream-model")
        body = chat_request(prompt, model)
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as reply:
                if reply.status_code != 200:
                    raise await _upstream_error(reply, self.settings.api_key)
                yield Accepted()
                async with contextlib.aclosing(_stream_chunks(reply)) as chunks:
                    async for data in chunks:
                        for chunk in reader.feed(data):
                            yield chunk
        except httpx.HTTPError as exc:
            raise BackendError(f"upstream {self.settings.url}: {type(exc).__name__}") from None
        yield Finish(reader.usage, reader.reason)


async def _stream_chunks(reply: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
    """Each Chat Completions chunk of the event stream, up to ``[DONE]``."""
    events = SseDecoder()
    async for raw in reply.aiter_raw():
        for data in events.feed(raw):
            if data == "[DONE]":
                return
            try:
                parsed = wire.decode_object(data)
            except InvalidRequest as exc:
                raise BackendError(f"the upstream sent a malformed chunk: {exc}") from None
            yield parsed


async def _upstream_error(reply: httpx.Response, api_key: str | None) -> CodeagentError:
    """What an upstream's error status means here: its context window exceeded (OpenAI's code,
    or vLLM's and llama.cpp's wording) is the client's 400; anything else a backend failure.
    Its words go to our client, but never our key (some proxies quote the key they refuse)."""
    text = (await reply.aread()).decode("utf-8", errors="replace")
    if api_key:
        text = text.replace(api_key, "[the upstream key]")
    try:
        body = json.loads(text)
        error = body.get("error", body) if isinstance(body, dict) else {}
        message = str(error["message"])
        code = error.get("code") or error.get("type")
    except (ValueError, KeyError, TypeError, AttributeError):
        message, code = text[:200], None
    if reply.status_code == 400 and (
        code in ("context_length_exceeded", "exceed_context_size_error")
        or _CONTEXT_WORDS.search(message)
    ):
        return context_length_exceeded(f"the upstream says: {message}")
    return BackendError(f"upstream answered {reply.status_code}: {message}")


_CONTEXT_WORDS = re.compile(r"context (?:length|window|size)", re.I)
"""vLLM: "This model's maximum context length is …"; llama.cpp's server: "the request exceeds
the available context size"."""
