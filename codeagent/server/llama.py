"""``LlamaBackend``: a GGUF model in-process with llama.cpp, each connection keeping its KV cache.

A turn renders the prompt as ChatML (``model.chat``), tokenizes it, takes the connection's slot
from the ``SlotPool`` (its own KV cache, kept since the last turn unless it was evicted), keeps
the longest common token prefix and prefills only the rest; that prefix is the turn's
``cached_tokens``. HTTP requests share the pool's HTTP slots (a server-wide prefix cache).

All llama.cpp work runs on one compute thread, in small steps queued in arrival order: a prefill
in batches of ``batch`` tokens, generation one token a step. The event loop never waits on the
model, and concurrent turns interleave step by step, so a long prefill on one connection delays
another connection's tokens by one batch at a time instead of stalling its stream. One compute
thread with all the free cores beats several contending for two cores.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from codeagent.errors import BackendError, ConfigError
from codeagent.model import chat
from codeagent.model.llama import Context, LlamaModel, Sampling, free_cores
from codeagent.model.slots import HTTP, Owner, Slot, SlotPool
from codeagent.model.toolcall import ToolCallParser
from codeagent.model.weights import BUNDLED_MODEL_ID, model_path
from codeagent.protocol.generation import (
    Accepted,
    Chunk,
    Finish,
    Prompt,
    context_length_exceeded,
)
from codeagent.protocol.request import FunctionTool
from codeagent.protocol.response import Usage

T = TypeVar("T")

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LlamaSettings:
    model_path: str | None = None
    """A GGUF file; ``None``: the bundled SmolLM2-135M-Instruct."""
    threads: int | None = None
    """llama.cpp threads; ``None``: the cores this process may use."""
    ctx: int = 8192
    """Tokens per KV cache (one conversation's prompt plus its reply)."""
    cache_mb: int = 1024
    """Memory for KV caches; divided by one cache's size, it bounds the connections kept."""
    http_slots: int = 1
    """KV caches shared by HTTP requests (a server-wide prefix cache); 0: none kept."""
    batch: int = 256
    """Prompt tokens per compute step (here ~1 s: 256 gives 11% faster prefill than 128, and
    a concurrent stream waits at most one step for its next token)."""
    seed: int = 0
    """Sampling seed when the request's metadata has none."""
    max_output_tokens: int = 512
    """Reply length when the request does not say."""


class LlamaBackend:
    name = "llama"

    def __init__(self, settings: LlamaSettings) -> None:
        if settings.ctx < 64:
            raise ConfigError("--ctx must be at least 64 tokens")
        threads = settings.threads or free_cores()
        if threads < 1:
            raise ConfigError("--threads must be at least 1")
        path = model_path(settings.model_path)
        self.settings = settings
        self.threads = threads
        self._model = LlamaModel(path)
        self.model = BUNDLED_MODEL_ID if settings.model_path is None else _stem(path)
        slot_bytes = self._model.kv_bytes_per_token * settings.ctx
        capacity = settings.cache_mb * MiB // slot_bytes
        if capacity < 1:
            raise ConfigError(
                f"--cache-mb {settings.cache_mb} cannot hold one KV cache of {settings.ctx} "
                f"tokens ({slot_bytes / MiB:.0f} MiB); raise it or lower --ctx"
            )
        self.pool: SlotPool[Context] = SlotPool(
            capacity, settings.http_slots, held_tokens=lambda c: c.tokens
        )
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="llama")
        self._freed: tuple[asyncio.AbstractEventLoop, asyncio.Condition] | None = None

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for slot in self.pool.slots:
            if slot.context is not None:
                slot.context.close()
        self._model.close()

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's tokenizer (callable from any thread)."""
        return len(self._model.tokenize(text))

    def open_cache(self) -> object:
        return Owner()

    def close_cache(self, cache: object) -> None:
        if isinstance(cache, Owner):
            self.pool.forget(cache)

    async def prepare(self, prompt: Prompt, cache: object | None) -> Usage:
        tokens = await self._compute(self._model.tokenize, chat.render_prefix(prompt))
        if not tokens:
            return Usage()
        self._check_fits(tokens, reserve=0)
        slot = await self._acquire(cache, tokens)
        try:
            reused = await self._prefill(slot, tokens, reserve=0)
        finally:
            await self._release(slot)
        return _usage(tokens, reused, 0)

    async def generate(self, prompt: Prompt, cache: object | None) -> AsyncGenerator[Chunk, None]:
        tokens = await self._compute(self._model.tokenize, chat.render(prompt))
        self._check_fits(tokens, reserve=1)
        yield Accepted()
        limit = prompt.max_output_tokens or self.settings.max_output_tokens
        sampling = Sampling(
            temperature=1.0 if prompt.temperature is None else prompt.temperature,
            top_p=1.0 if prompt.top_p is None else prompt.top_p,
            seed=self.settings.seed if prompt.seed is None else prompt.seed,
        )
        parser = ToolCallParser(t.name for t in prompt.tools if isinstance(t, FunctionTool))
        slot = await self._acquire(cache, tokens)
        sampled: Iterator[int] | None = None
        try:
            reused = await self._prefill(slot, tokens, reserve=1)
            context = _context(slot)
            sampled = context.sample(sampling)
            text = codecs.getincrementaldecoder("utf-8")(errors="replace")
            produced, reason = 0, "stop"
            while True:
                if produced >= limit:
                    reason = "max_output_tokens"
                    break
                token = await self._compute(next, sampled, None)
                if token is None:
                    if len(context.tokens) >= context.n_ctx:
                        reason = "max_output_tokens"
                    break
                produced += 1
                for chunk in parser.feed(text.decode(self._model.piece(token))):
                    yield chunk
            for chunk in parser.feed(text.decode(b"", final=True)) + parser.finish():
                yield chunk
            yield Finish(_usage(tokens, reused, produced), reason)
        finally:
            if sampled is not None:  # frees the sampler, after any step still queued
                self._executor.submit(_close, sampled)
            await self._release(slot)

    def _check_fits(self, tokens: list[int], reserve: int) -> None:
        """Refuse, before any work, a prompt the context cannot hold (a 400, not a failure)."""
        if len(tokens) + reserve > self.settings.ctx:
            raise context_length_exceeded(
                f"the prompt has {len(tokens)} tokens; with {reserve} to generate it does not "
                f"fit the context of {self.settings.ctx} (serve --ctx)."
            )

    async def _prefill(self, slot: Slot[Context], tokens: list[int], reserve: int) -> int:
        reused = await self._compute(self._start, slot, tokens, reserve)
        context = _context(slot)
        while await self._compute(context.advance):
            pass
        return reused

    def _start(self, slot: Slot[Context], tokens: list[int], reserve: int) -> int:
        """On the compute thread: the slot's context, cleared if it changed owner, started."""
        if slot.context is None:
            slot.context = self._model.context(self.settings.ctx, self.threads, self.settings.batch)
        if slot.dirty:
            slot.context.clear()
            slot.dirty = False
        return slot.context.start(tokens, reserve)

    async def _acquire(self, cache: object | None, tokens: list[int]) -> Slot[Context]:
        owner = cache if isinstance(cache, Owner) else HTTP
        freed = self._condition()
        async with freed:
            while (slot := self.pool.acquire(owner, tokens)) is None:
                await freed.wait()
        return slot

    async def _release(self, slot: Slot[Context]) -> None:
        self.pool.release(slot)
        freed = self._condition()
        async with freed:
            freed.notify_all()

    def _condition(self) -> asyncio.Condition:
        """The "a slot was released" signal, of the running loop (a backend may outlive one)."""
        loop = asyncio.get_running_loop()
        if self._freed is None or self._freed[0] is not loop:
            self._freed = (loop, asyncio.Condition())
        return self._freed[1]

    async def _compute(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))


def _context(slot: Slot[Context]) -> Context:
    if slot.context is None:  # _start always made it
        raise BackendError("internal: slot without a context")
    return slot.context


def _close(iterator: Iterator[int]) -> None:
    with contextlib.suppress(Exception):
        iterator.close()  # type: ignore[attr-defined]


def _usage(tokens: list[int], reused: int, produced: int) -> Usage:
    return Usage(
        input_tokens=len(tokens),
        cached_tokens=reused,
        output_tokens=produced,
        cache_write_tokens=len(tokens) - reused,
    )


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name
