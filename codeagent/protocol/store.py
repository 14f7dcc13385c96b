"""Kept responses: each with the whole conversation it ends, so a chain never has to be walked.

A ``KeptResponse`` holds ``conversation`` = every input item of its chain plus its own output.
Items are immutable and shared between links, so keeping the whole conversation per link costs
references, not copies of text. Both stores are bounded LRU maps.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from codeagent.protocol.items import FunctionCall, Item
from codeagent.protocol.response import Response


@dataclass(frozen=True, slots=True)
class KeptResponse:
    response: Response
    conversation: tuple[Item, ...]

    @property
    def call_ids(self) -> frozenset[str]:
        """The call ids a continuation may answer with ``function_call_output``."""
        return frozenset(i.call_id for i in self.response.output if isinstance(i, FunctionCall))


class ResponseStore:
    """A bounded map from response id to ``KeptResponse``; the least recently used goes first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._kept: OrderedDict[str, KeptResponse] = OrderedDict()

    def get(self, response_id: str) -> KeptResponse | None:
        kept = self._kept.get(response_id)
        if kept is not None:
            self._kept.move_to_end(response_id)
        return kept

    def put(self, kept: KeptResponse) -> None:
        self._kept[kept.response.id] = kept
        self._kept.move_to_end(kept.response.id)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def evict(self, response_id: str) -> None:
        self._kept.pop(response_id, None)

    @property
    def size(self) -> int:
        # Not ``__len__``: an empty store must not be falsy (``store or default`` would drop it).
        return len(self._kept)

    def __contains__(self, response_id: object) -> bool:
        return response_id in self._kept
