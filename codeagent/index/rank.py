"""Personalized PageRank over the definition/reference graph, without building the graph.

The graph of Aider's repo map has an edge A -> B for every identifier that file A references
and file B defines (weight: the name's weight x sqrt(references)); on sympy that is 229k edges.
We never build it: a random walk from A picks one of A's references (by weight), then one of its
definers. So one iteration is a pass over A's references into per-identifier "inflow", then a
pass over B's definitions summing the inflow of the names it defines: linear in tags, not in
referencers x definers. The rank of a definition (B, name) is the inflow of its name.

Personalization teleports to focus files; references made *from* focus files weigh 50x, and
focus symbols 10x (Aider's choices). Ranks are computed to an L1 change below ``TOLERANCE``,
by the C extension when it was built and otherwise by the same arithmetic in Python, in the
same order, so the result is identical bits either way: the rendered map depends only on the
input, never on which ran or on what the cache held before.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection
from types import ModuleType
from typing import NamedTuple

from codeagent.index.store import State

DAMPING = 0.85
TOLERANCE = 1e-8
"""L1 change between iterations at which ranks stop (networkx, under Aider, stops at N x 1e-6)."""
MAX_ITERATIONS = 200
FOCUS_FILE_WEIGHT = 100.0
FOCUS_REFERENCE_MUL = 50.0
FOCUS_SYMBOL_MUL = 10.0


def _native() -> ModuleType | None:
    try:
        from codeagent.index import _rank  # type: ignore[attr-defined]  # noqa: PLC0415
    except ImportError:
        return None
    return _rank  # type: ignore[no-any-return]


class Ranking(NamedTuple):
    file_rank: array[float]
    ident_score: array[float]
    order: array[int]
    """Positions in ``state.def_ident``, best first (ties: earlier file, then earlier name)."""
    iterations: int
    native: bool


def rank(
    state: State,
    *,
    focus_files: Collection[int] = (),
    focus_idents: Collection[int] = (),
    native: bool = True,
) -> Ranking:
    n = len(state.files)
    pers = array("d", [1.0] * n)
    file_mul = array("d", [1.0] * n)
    for f in focus_files:
        pers[f] += FOCUS_FILE_WEIGHT * n / max(1, len(focus_files))
        file_mul[f] = FOCUS_REFERENCE_MUL
    ident_mul = state.ident_mul
    if focus_idents:
        ident_mul = array("d", ident_mul)
        for i in focus_idents:
            ident_mul[i] *= FOCUS_SYMBOL_MUL
        # Personalize toward where the focus symbols are defined, too.
        wanted = set(focus_idents)
        for f in range(n):
            segment = state.def_ident[state.def_off[f] : state.def_off[f + 1]]
            if wanted.intersection(segment):
                pers[f] += FOCUS_FILE_WEIGHT * n / max(1, len(wanted))
    args = (
        state.def_off, state.def_ident, state.ref_off, state.ref_ident, state.ref_count,
        ident_mul, file_mul, pers, DAMPING, TOLERANCE, MAX_ITERATIONS,
    )  # fmt: skip
    module = _native() if native else None
    if module is not None:
        ranks, scores, order, iterations = module.rank(*args)
        return Ranking(array("d", ranks), array("d", scores), array("i", order), iterations, True)
    return _rank_python(*args)


def _rank_python(  # noqa: PLR0917  (mirrors the C function's arguments)
    def_off: array[int],
    def_ident: array[int],
    ref_off: array[int],
    ref_ident: array[int],
    ref_count: array[int],
    ident_mul: array[float],
    file_mul: array[float],
    pers: array[float],
    damping: float,
    tol: float,
    max_iter: int,
) -> Ranking:
    """The C algorithm, operation for operation and in the same order (see _rank.c)."""
    n, m = len(def_off) - 1, len(ident_mul)
    ndef = [0] * m
    for i in def_ident:
        ndef[i] += 1
    live = [0] * m  # identifier -> slot + 1, for names both defined and referenced
    slots = 0
    for i in ref_ident:
        if ndef[i] > 0 and live[i] == 0:
            slots += 1
            live[i] = slots
    by_slot: list[list[tuple[int, float]]] = [[] for _ in range(slots)]
    out_weight = [0.0] * n
    for a in range(n):
        for r in range(ref_off[a], ref_off[a + 1]):
            i = ref_ident[r]
            if not live[i]:
                continue
            crowd = 0.1 if ndef[i] > 5 else 1.0
            w = ident_mul[i] * crowd * math.sqrt(float(ref_count[r])) * file_mul[a]
            out_weight[a] += w * float(ndef[i])
            by_slot[live[i] - 1].append((a, w))
    refs = [[(a, w / out_weight[a]) for a, w in slot] for slot in by_slot]
    def_slot = [live[i] - 1 for i in def_ident]
    psum = 0.0
    for v in pers:
        psum += v
    p = [v / psum if psum > 0.0 else 1.0 / n for v in pers]
    x = list(p)
    it = 0
    while True:
        dangling = 0.0
        for a in range(n):
            if out_weight[a] == 0.0:
                dangling += x[a]
        inflow = [0.0] * slots
        for k, slot_refs in enumerate(refs):
            acc = 0.0
            for a, wn in slot_refs:
                acc += x[a] * wn
            inflow[k] = acc
        if it >= max_iter:
            break
        err = 0.0
        nx = [0.0] * n
        for b in range(n):
            acc = 0.0
            for d in range(def_off[b], def_off[b + 1]):
                if def_slot[d] >= 0:
                    acc += inflow[def_slot[d]]
            nx[b] = (1.0 - damping) * p[b] + damping * dangling * p[b] + damping * acc
            err += abs(nx[b] - x[b])
        x = nx
        it += 1
        if err < tol:
            max_iter = it
    score = [inflow[live[i] - 1] if live[i] else 0.0 for i in range(m)]
    kept = [(-score[i], pos) for pos, i in enumerate(def_ident) if score[i] > 0.0]
    kept.sort()
    order = array("i", [pos for _, pos in kept])
    return Ranking(array("d", x), array("d", score), order, it, False)
