"""``FakeChatUpstream``: a scripted OpenAI-compatible Chat Completions server, to put behind
``codeagent serve --backend upstream`` in tests.

``POST /v1/chat/completions`` (streaming only, as the upstream backend asks) answers the last
message by the echo backend's rules: ``/call NAME {json}`` streams a tool call, ``/fail``
answers 500 with an OpenAI error body, a ``tool`` message gets ``NAME returned: OUTPUT``,
anything else ``echo: TEXT``, word by word, cut at ``max_tokens`` (``finish_reason: length``).
It counts a token a word and reports as ``cached_tokens`` the tokens of the previous request's
messages when this request starts with them, like a server-side prefix cache. Every request
body is kept in ``requests``; with ``api_key`` set, a request without it gets 401; with
``context_tokens`` set, a longer prompt gets vLLM's 400 ("maximum context length"). Chunks are
written with raw non-ASCII text, as llama.cpp's server and vLLM write them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class FakeChatUpstream:
    def __init__(self, api_key: str | None = None, context_tokens: int | None = None) -> None:
        self.api_key = api_key
        self.context_tokens = context_tokens
        self.requests: list[dict[str, Any]] = []
        self._previous: list[Any] = []

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.")
        body = await request.json()
        self.requests.append(body)
        messages: list[dict[str, Any]] = body["messages"]
        last = messages[-1]
        if last.get("role") == "user" and str(last.get("content")).startswith("/fail"):
            return _error(500, "The upstream was asked to fail.")
        prompt_tokens = sum(_words(json.dumps(m)) for m in messages)
        if self.context_tokens is not None and prompt_tokens > self.context_tokens:
            return JSONResponse(  # vLLM's shape: no "error" wrapper, the status as the code
                {
                    "object": "error",
                    "message": f"This model's maximum context length is {self.context_tokens} "
                    f"tokens. However, you requested {prompt_tokens} tokens in the messages.",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                },
                status_code=400,
            )
        previous, self._previous = self._previous, messages
        cached = (
            sum(_words(json.dumps(m)) for m in previous)
            if previous and messages[: len(previous)] == previous
            else 0
        )
        chunks = _answer(messages, body.get("max_tokens"))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(chunks) - 1,
            "total_tokens": prompt_tokens + len(chunks) - 1,
            "prompt_tokens_details": {"cached_tokens": cached},
        }

        async def stream() -> AsyncIterator[str]:
            for chunk in chunks:
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
            yield f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")


def _words(text: str) -> int:
    return len(text.split())


def _answer(messages: list[dict[str, Any]], max_tokens: int | None) -> list[dict[str, Any]]:
    """The stream's chunks; the last one carries the finish reason."""
    last = messages[-1]
    content = str(last.get("content") or "")
    if last.get("role") == "user" and content.startswith("/call "):
        name, _, arguments = content[len("/call ") :].partition(" ")
        head = {"index": 0, "id": f"call_{len(messages)}", "type": "function"}
        half = len(arguments) // 2
        return [
            _delta({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}),
            _delta({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]}),
            _delta({"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}),
            _delta({}, "tool_calls"),
        ]
    if last.get("role") == "tool":
        names = {
            c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()
        }
        text = f"{names.get(last.get('tool_call_id'), 'tool')} returned: {content}"
    else:
        text = f"echo: {content}"
    words = text.split(" ")
    reason = "stop"
    if max_tokens is not None and len(words) > max_tokens:
        words, reason = words[:max_tokens], "length"
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return [_delta({"content": p}) for p in pieces] + [_delta({}, reason)]


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": None}},
        status_code=status,
    )
