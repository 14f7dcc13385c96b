"""llama.cpp through llama-cpp-python's low-level API: one model, many contexts.

``LlamaModel`` loads the weights once; each ``Context`` is a llama.cpp context of its own (its own
KV cache, sharing the model's weights) that remembers the token sequence its KV cache holds.
``Context.prefill`` finds the longest common token prefix between that sequence and a new one,
drops the KV cells after it and decodes only the rest: the reused count is what the server
reports as ``cached_tokens``. Nothing here is thread-safe or async: the backend calls it from
one compute thread.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import llama_cpp as lc

from codeagent.errors import BackendError
from codeagent.model.slots import common_prefix

GGML_LOG_LEVEL_ERROR = 4
"""ggml's levels: none 0, debug 1, info 2, warn 3, error 4, continuation 5."""


@lc.llama_log_callback  # type: ignore[untyped-decorator]
def _log_errors_only(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """llama.cpp logs its load and context chatter; only its errors reach stderr."""
    if level == GGML_LOG_LEVEL_ERROR:
        sys.stderr.write(text.decode("utf-8", errors="replace"))


KV_BYTES_PER_VALUE = 2
"""The KV cache is f16 (llama.cpp's default)."""


def free_cores() -> int:
    """The cores this process may run on: llama.cpp threads beyond these only contend."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0


class LlamaModel:
    """The weights, the vocabulary, and how big a context's KV cache is."""

    _backend_ready = False

    def __init__(self, path: str) -> None:
        if not LlamaModel._backend_ready:
            lc.llama_log_set(_log_errors_only, ctypes.c_void_p(0))
            lc.llama_backend_init()
            LlamaModel._backend_ready = True
        params = lc.llama_model_default_params()
        self.handle = lc.llama_model_load_from_file(path.encode(), params)
        if not self.handle:
            raise BackendError(f"llama.cpp could not load {path}")
        self.vocab = lc.llama_model_get_vocab(self.handle)
        n_embd = lc.llama_model_n_embd(self.handle)
        n_head = max(1, lc.llama_model_n_head(self.handle))
        n_head_kv = lc.llama_model_n_head_kv(self.handle)
        n_layer = lc.llama_model_n_layer(self.handle)
        self.kv_bytes_per_token = n_layer * 2 * (n_embd // n_head) * n_head_kv * KV_BYTES_PER_VALUE
        self._piece = ctypes.create_string_buffer(256)

    def close(self) -> None:
        if self.handle:
            lc.llama_model_free(self.handle)
            self.handle = None

    def tokenize(self, text: str) -> list[int]:
        """Tokens of ``text``; special tokens written in it (``<|im_start|>``) are parsed."""
        data = text.encode()
        size = len(data) + 16
        buf = (lc.llama_token * size)()
        n = lc.llama_tokenize(self.vocab, data, len(data), buf, size, False, True)
        if n < 0:  # cannot happen with size >= bytes + 16, but the API says to retry
            size = -n
            buf = (lc.llama_token * size)()
            n = lc.llama_tokenize(self.vocab, data, len(data), buf, size, False, True)
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """The bytes of one token (a token may end inside a UTF-8 character)."""
        n = lc.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        if n < 0:
            self._piece = ctypes.create_string_buffer(-n)
            n = lc.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[:n]

    def is_end(self, token: int) -> bool:
        return bool(lc.llama_vocab_is_eog(self.vocab, token))

    def context(self, n_ctx: int, threads: int, batch: int = 128) -> Context:
        return Context(self, n_ctx, threads, batch)


class Context:
    """One KV cache and the token sequence it holds."""

    def __init__(self, model: LlamaModel, n_ctx: int, threads: int, batch: int) -> None:
        params = lc.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = batch
        params.n_ubatch = batch
        params.n_seq_max = 1
        params.n_threads = threads
        params.n_threads_batch = threads
        self.model = model
        self.n_ctx = n_ctx
        self.batch = batch
        self.handle = lc.llama_init_from_model(model.handle, params)
        if not self.handle:
            raise BackendError(f"llama.cpp could not make a context of {n_ctx} tokens")
        self.memory = lc.llama_get_memory(self.handle)
        self._batch = lc.llama_batch_init(batch, 0, 1)
        self.tokens: list[int] = []
        """What the KV cache holds, position by position."""

    def close(self) -> None:
        if self.handle:
            lc.llama_batch_free(self._batch)
            lc.llama_free(self.handle)
            self.handle = None
        self.tokens = []

    def clear(self) -> None:
        lc.llama_memory_clear(self.memory, True)
        self.tokens = []

    def reusable(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` the KV cache already holds."""
        return common_prefix(self.tokens, tokens)

    def start(self, tokens: list[int], reserve: int = 0) -> int:
        """Make the KV cache hold ``tokens``, reusing the common prefix; returns the reused count.

        At least the last token is decoded again when everything matches, since sampling needs
        its logits. Call ``advance`` until it returns False to decode the rest in batches.
        """
        if len(tokens) + reserve > self.n_ctx:
            raise BackendError(
                f"the prompt has {len(tokens)} tokens; with {reserve} to generate it does not "
                f"fit the context of {self.n_ctx} (serve --ctx)"
            )
        if not tokens:
            raise BackendError("nothing to process: the prompt rendered to no tokens")
        keep = min(self.reusable(tokens), len(tokens) - 1)
        if keep < len(self.tokens):
            if not lc.llama_memory_seq_rm(self.memory, 0, keep, -1):
                self.clear()
                keep = 0
            self.tokens = self.tokens[:keep]
        self._pending = tokens[keep:]
        return keep

    def advance(self) -> bool:
        """Decode the next batch of the pending prompt; False when nothing is left."""
        if not self._pending:
            return False
        chunk, self._pending = self._pending[: self.batch], self._pending[self.batch :]
        self._decode(chunk)
        return bool(self._pending)

    def sample(self, sampling: Sampling) -> Iterator[int]:
        """Tokens sampled one at a time, each decoded into the cache as the next is asked for.

        Stops at an end-of-generation token (not yielded) or when the context is full.
        """
        sampler = _sampler(sampling)
        try:
            while len(self.tokens) < self.n_ctx:
                token = lc.llama_sampler_sample(sampler, self.handle, -1)
                if self.model.is_end(token):
                    return
                yield token
                if len(self.tokens) >= self.n_ctx:
                    return
                self._decode([token])
        finally:
            lc.llama_sampler_free(sampler)

    def _decode(self, tokens: list[int]) -> None:
        """Decode ``tokens`` at the next positions; logits for the last one only."""
        batch, past = self._batch, len(self.tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = past + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = False
        batch.logits[len(tokens) - 1] = True
        batch.n_tokens = len(tokens)
        status = lc.llama_decode(self.handle, batch)
        if status != 0:
            self.clear()  # the cache may hold part of the batch: start clean next time
            raise BackendError(f"llama_decode failed with status {status}")
        self.tokens.extend(tokens)


def _sampler(sampling: Sampling) -> ctypes.c_void_p:
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    if sampling.temperature <= 0.0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
        return chain  # type: ignore[no-any-return]
    if sampling.top_p < 1.0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(sampling.top_p, 1))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(sampling.temperature))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(sampling.seed & 0xFFFFFFFF))
    return chain  # type: ignore[no-any-return]
