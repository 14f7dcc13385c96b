"""SlotPool: which KV cache serves whom, LRU eviction, isolation, the shared HTTP slots."""

from __future__ import annotations

from codeagent.model.slots import HTTP, Owner, Slot, SlotPool


class Ctx:
    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens


def pool(capacity: int, http_slots: int = 1) -> SlotPool[Ctx]:
    return SlotPool(capacity, http_slots, held_tokens=lambda c: c.tokens)


def use(p: SlotPool[Ctx], owner: Owner, tokens: list[int] | None = None) -> Slot[Ctx]:
    slot = p.acquire(owner, tokens or [])
    assert slot is not None
    if slot.context is None or slot.dirty:  # what the backend's compute thread does
        slot.context, slot.dirty = Ctx([]), False
    if tokens is not None:
        slot.context.tokens = tokens
    p.release(slot)
    return slot


def test_a_connection_keeps_its_slot_across_turns() -> None:
    p, a = pool(2), Owner()
    first = use(p, a)
    assert use(p, a) is first
    assert not first.dirty


def test_least_recently_used_connection_is_evicted_and_the_slot_cleared() -> None:
    p = pool(2)
    a, b, c = Owner(), Owner(), Owner()
    slot_a, slot_b = use(p, a), use(p, b)
    use(p, a)  # b is now the least recently used
    slot_c = p.acquire(c)
    assert slot_c is slot_b
    assert slot_c.dirty  # b's state is never shown to c
    assert b.slot is None
    assert p.evictions == 1
    p.release(slot_c)
    assert use(p, a) is slot_a  # a kept its state


def test_busy_slots_are_never_taken() -> None:
    p = pool(1)
    a, b = Owner(), Owner()
    slot = p.acquire(a)
    assert slot is not None
    assert p.acquire(b) is None  # the caller waits for a release
    p.release(slot)
    assert p.acquire(b) is slot


def test_a_closed_connection_frees_its_slot_for_anyone_cleared() -> None:
    p = pool(1)
    a, b = Owner(), Owner()
    slot = use(p, a, [1, 2, 3])
    p.forget(a)
    assert a.slot is None
    got = p.acquire(b)
    assert got is slot
    assert got.dirty
    assert p.evictions == 0


def test_http_requests_share_the_slot_with_the_longest_common_prefix() -> None:
    p = pool(3, http_slots=2)
    one = use(p, HTTP, [1, 2, 3])
    two = use(p, HTTP, [7, 8])  # no common prefix with `one`: a second shared slot
    assert two is not one
    assert use(p, HTTP, [1, 2, 3, 4]) is one
    assert use(p, HTTP, [7, 8, 9]) is two
    assert not one.dirty  # shared among HTTP requests: that is the prefix cache
    third = use(p, HTTP, [5])  # at its cap of 2: the least recently used shared slot
    assert third is one


def test_http_slots_zero_keeps_nothing_between_requests() -> None:
    p = pool(1, http_slots=0)
    slot = use(p, HTTP, [1, 2, 3])
    assert slot.owner is None
    assert slot.dirty
    again = p.acquire(HTTP, [1, 2, 3])
    assert again is slot
    assert again.dirty


def test_connections_and_http_compete_for_the_same_budget() -> None:
    p = pool(1)
    a = Owner()
    use(p, a)
    slot = use(p, HTTP, [1])
    assert a.slot is None
    assert p.evictions == 1
    assert use(p, a) is slot
    assert slot.owner is a


def test_concurrent_http_requests_borrow_and_give_back() -> None:
    p = pool(3, http_slots=1)
    one = p.acquire(HTTP, [1])
    two = p.acquire(HTTP, [2])  # the shared slot is busy: a second one is borrowed
    assert one is not None
    assert two is not None
    assert two is not one
    p.release(one)  # the first to finish goes back; the other stays HTTP's
    p.release(two)
    assert (one.owner, one.dirty) == (None, True)
    assert two.owner is HTTP
    assert [s.owner is HTTP for s in p.slots].count(True) == 1
