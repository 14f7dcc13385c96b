"""``SlotPool``: which KV cache serves which connection, within a memory budget.

A slot is one llama.cpp context (one KV cache). The pool holds at most ``capacity`` of them:
the memory budget divided by what one context's KV cache takes. A WebSocket connection owns a
slot for as long as nobody needs it more: its continuations find their prefix already there.
When every slot is taken and another owner needs one, the least recently used idle slot is taken
from its owner, which then starts over with a full prefill on its next turn (slower, still
correct). A slot that changes owner is cleared first, so no connection ever reuses, or learns
anything from, another connection's state.

HTTP requests have no connection. They share up to ``http_slots`` slots, a server-wide prefix
cache: a request takes the HTTP slot with the longest common prefix with its tokens, so a
``store=true`` chain (or a full resend of the same conversation) finds its earlier turns there
unless other HTTP traffic pushed them out. Concurrent HTTP requests may borrow more slots than
that; the extra ones are given back (to be cleared) when they finish. With ``http_slots=0`` every
HTTP request borrows a slot and it is cleared after.

Pure bookkeeping, no I/O: the backend calls it from its event loop, and does the work (clearing,
prefilling) on its compute thread in the order it was asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

C = TypeVar("C")


class Owner:
    """A connection's hold on a slot (the per-connection cache object the server keeps)."""

    __slots__ = ("slot",)

    def __init__(self) -> None:
        self.slot: Slot[Any] | None = None


HTTP = Owner()
"""The owner of the shared HTTP slots."""


class Slot(Generic[C]):
    __slots__ = ("busy", "context", "dirty", "index", "owner", "used")

    def __init__(self, index: int) -> None:
        self.index = index
        self.context: C | None = None
        """Made on first use, on the compute thread."""
        self.owner: Owner | None = None
        self.busy = False
        self.used = 0
        self.dirty = False
        """Clear the context before the next use: it changed owner."""


class SlotPool(Generic[C]):
    def __init__(
        self,
        capacity: int,
        http_slots: int = 1,
        held_tokens: Callable[[C], Sequence[int]] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("a slot pool needs at least one slot")
        self.capacity = capacity
        self.http_slots = min(http_slots, capacity)
        self.slots: list[Slot[C]] = []
        self.evictions = 0
        """Connections that lost their slot to another owner."""
        self._held = held_tokens or (lambda context: ())
        self._tick = 0

    def acquire(self, owner: Owner, tokens: Sequence[int] = ()) -> Slot[C] | None:
        """A slot for ``owner`` (``HTTP`` or a connection), marked busy; ``None`` if all are
        busy. ``tokens`` (HTTP only) picks the shared slot with the longest common prefix."""
        if owner is HTTP:
            slot = self._for_http(tokens)
        else:
            slot = owner.slot
            if slot is None or slot.owner is not owner or slot.busy:
                slot = self._take(owner)
        if slot is not None:
            slot.busy = True
        return slot

    def release(self, slot: Slot[C]) -> None:
        self._tick += 1
        slot.busy = False
        slot.used = self._tick
        if slot.owner is HTTP and sum(1 for s in self.slots if s.owner is HTTP) > self.http_slots:
            # Concurrent HTTP requests borrowed more slots than HTTP keeps: give this one back.
            slot.owner, slot.dirty = None, True

    def forget(self, owner: Owner) -> None:
        """The connection closed: its slot is free for anyone (cleared before reuse)."""
        slot = owner.slot
        owner.slot = None
        if slot is not None and slot.owner is owner:
            slot.owner, slot.dirty = None, True

    def _for_http(self, tokens: Sequence[int]) -> Slot[C] | None:
        shared = [s for s in self.slots if s.owner is HTTP and not s.busy]
        best, best_len = None, 0
        for slot in shared:
            held = self._held(slot.context) if slot.context is not None else ()
            n = common_prefix(held, tokens)
            if n > best_len:
                best, best_len = slot, n
        if best is not None:
            return best
        if sum(1 for s in self.slots if s.owner is HTTP) < max(1, self.http_slots):
            return self._take(HTTP)
        return min(shared, key=lambda s: s.used) if shared else self._take(HTTP)

    def _take(self, owner: Owner) -> Slot[C] | None:
        """A slot for a new owner: a fresh one while under capacity, else the LRU idle one."""
        if len(self.slots) < self.capacity:
            slot: Slot[C] = Slot(len(self.slots))
            self.slots.append(slot)
        else:
            idle = [s for s in self.slots if not s.busy]
            if not idle:
                return None
            slot = min(idle, key=lambda s: (s.owner is not None, s.used))
            previous = slot.owner
            if previous is not None and previous is not HTTP:
                previous.slot = None
                self.evictions += 1
            slot.dirty = slot.dirty or previous is not owner
        slot.owner = owner
        if owner is not HTTP:
            owner.slot = slot
        return slot


def common_prefix(a: Sequence[object], b: Sequence[object]) -> int:
    """How many leading elements ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
