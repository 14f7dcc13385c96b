"""The seam between the server and a model: ``Backend``.

A backend renders a ``Prompt`` (instructions, tools, items) its own way and streams ``Chunk``s:
first ``Accepted`` once it knows the prompt fits (before any slow work), last a ``Finish``
carrying honest usage. Before ``Accepted`` it may refuse the prompt by raising
``InvalidRequest`` (``generation.context_length_exceeded``); the client gets a 400 and the
conversation it continued stays usable. Each WebSocket connection gets one cache
object from ``open_cache()`` for its whole life: the backend keeps there whatever lets a
continuation skip work (the llama backend keeps its KV state; the echo backend the rendered
tokens), and reports the input tokens it really did not process again as ``cached_tokens``.
HTTP requests get ``None``: no connection, no connection cache.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from codeagent.protocol.generation import Chunk, Prompt
from codeagent.protocol.response import Usage


class Backend(Protocol):
    name: str
    """Short name for ``--backend`` and ``/health``."""
    model: str
    """The model id ``/v1/models`` lists."""

    def open_cache(self) -> object:
        """A fresh per-connection cache; passed back to every call for that connection."""
        ...

    def close_cache(self, cache: object) -> None:
        """The connection ended: release what the cache holds."""
        ...

    def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        """Stream the reply: ``Accepted``, then output, then a ``Finish``. Raises
        ``InvalidRequest`` before ``Accepted`` to refuse the prompt, ``BackendError`` on failure.
        Closed (or cancelled) at any point when the client goes away: release what it holds."""
        ...

    async def prepare(self, prompt: Prompt, cache: object | None) -> Usage:
        """A ``generate: false`` warmup: process the prompt into ``cache``, produce nothing.
        Raises ``InvalidRequest`` (before any work) for a prompt that does not fit."""
        ...
