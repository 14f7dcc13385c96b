"""A small data-flow walk over ``ast``: which lines made the values that reached a failure.

Backwards from a statement (the raising line, a ``return`` whose value the failing assertion
compares): the assignments in the same function to the names it reads (``self.x`` across the
methods of the class), the conditions that decided whether it ran (enclosing ``if``/``while``/
``for``, and guards in earlier statements that could leave the block), the conditions that
skipped an assignment which would have changed a value (relevant slicing), the defaults,
module-level names and class attributes the names come from, and the ``return``s of the
functions it calls. Intra-procedural for names, inter-procedural only through calls, bounded
in depth; with coverage it follows only lines the failing test ran. Each step multiplies the
weight by ``DECAY``, so nearer lines weigh a little more.

Two readings of the failing assertion sharpen it: where a value is built as ``C(x=v)`` or
``{"x": v}`` and the test reads ``x``, only ``v`` is followed; and a string literal that shows
in the actual value but not in the expected one marks the line that spells it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from codeagent.agent.outline import Function
from codeagent.agent.program import Program
from codeagent.agent.statements import (
    BRANCHES,
    PASS_THROUGH,
    FunctionNode,
    calls_in,
    chain,
    computes,
    guards,
    header_exprs,
    is_empty,
    literals,
    loaded_names,
    names_bound,
    own_nodes,
    passes_on,
    spelled,
)

FLOW_START = 0.6
"""The weight a walk starts with at the failure point (``trace.FLOW``)."""
DECAY = 0.9
"""Per data-flow step."""
CONTROL = 0.7
"""A condition weighs this much of the statement it decides."""
CALL = 1.0
"""A callee's ``return`` weighs this much of the statement that called it."""
MAX_CALLS = 3
"""How many calls deep the walk follows returned values."""
FLOOR = 0.05
"""Weights below this stop the walk."""
NAMED = 0.5
"""A line that binds or spells a name the failing assertion reads (``.timeout``,
``["total"]``)."""
MAX_CALLEES = 3
"""A call whose name matches more functions than this (``get``, ``run``) is not followed,
unless coverage narrows it down."""


@dataclass(frozen=True, slots=True)
class Clue:
    """Evidence that a line holds the bug."""

    path: str
    line: int
    weight: float
    """In (0, 1]."""
    kind: str
    """``raised``, ``trace``, ``before``, ``handler``, ``first``, ``signature``, ``module``,
    ``flow``, ``named``, ``value``, ``message``: evidence of one kind counts once per line."""
    reason: str


class Flow:
    """Collects the clues of one failing test (the strongest per line and kind).

    ``covered`` is the lines the failing test ran, if the run traced coverage; ``traced`` the
    files the run traced at all (a file it traced but the test never entered did not run).
    """

    def __init__(
        self,
        program: Program,
        covered: Mapping[str, frozenset[int]] | None,
        traced: frozenset[str] = frozenset(),
    ) -> None:
        self.named: frozenset[str] = frozenset()
        """Attribute names and string keys the failing assertion reads (``trace`` sets it)."""
        self.actual = ""
        """The actual side of the failing comparison as the message shows it."""
        self.expected = ""
        """The expected side."""
        self.program = program
        self._covered = covered
        self._traced = traced
        self._clues: dict[tuple[str, int, str], Clue] = {}
        self._seen: dict[tuple[str, int], float] = {}

    def clues(self) -> list[Clue]:
        return sorted(self._clues.values(), key=lambda c: (c.path, c.line, c.kind))

    def add(self, path: str, line: int, weight: float, kind: str, reason: str) -> None:
        if weight <= 0:
            return
        key = (path, line, kind)
        old = self._clues.get(key)
        if old is None or weight > old.weight:
            self._clues[key] = Clue(path, line, min(weight, 1.0), kind, reason)

    def ran(self, path: str, line: int) -> bool:
        """Whether the failing test ran the line (true when coverage says nothing of it)."""
        if self._covered is None:
            return True
        if path in self._covered:
            return line in self._covered[path]
        return path not in self._traced

    def resolve(self, call: ast.Call) -> list[tuple[str, Function]]:
        """The functions a call may reach, by name; with coverage, those the test ran."""
        func = call.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        found = list(self.program.by_name.get(name or "", ()))
        ran = [(p, f) for p, f in found if any(self.ran(p, line) for line in f.body[:1])]
        if self._covered is not None:
            return ran
        return found if len(found) <= MAX_CALLEES else []

    def value_of(self, path: str, fn: Function, weight: float, depth: int) -> list[int]:
        """The ``return`` lines of ``fn`` that ran, and what flows into them."""
        lines: list[int] = []
        for node in own_nodes(fn.node):
            if isinstance(node, ast.Return) and self.ran(path, node.lineno):
                lines.append(node.lineno)
                why = f"returns the value of {fn.name}"
                self.add(path, node.lineno, weight * computes(node), "flow", why)
                self.uses(path, fn, node, weight * DECAY, depth, why="assigns the returned value")
        return lines

    def uses(
        self, path: str, fn: Function, stmt: ast.stmt, weight: float, depth: int, *, why: str
    ) -> None:
        """Walk back from ``stmt`` (already blamed) to what made its values."""
        key = (path, stmt.lineno)
        if weight < FLOOR or self._seen.get(key, 0.0) >= weight:
            return
        self._seen[key] = weight
        exprs = header_exprs(stmt)
        fields = self._fields(exprs)
        for part in fields:
            # A statement over several lines: blame the line of the field that matters.
            why_field = "makes the field the test reads"
            self.add(path, part.lineno, weight * passes_on([part]), "flow", why_field)
        exprs = fields or exprs
        self._spelling(path, stmt, weight)
        # A constant (``return 0``, ``return Decimal("0")``: no name read) can only be wrong
        # by being reached: its conditions take all of its weight.
        control = weight * (CONTROL if loaded_names(exprs) else 1.0)
        for cond in self.conditions(path, fn, stmt):
            reason = f"decides whether line {stmt.lineno} runs"
            self.add(path, cond.lineno, control, "flow", reason)
            self.uses(path, fn, cond, control * DECAY, depth, why="feeds a condition")
        if depth < MAX_CALLS:
            for call in calls_in(exprs):
                for callee_path, callee in self.resolve(call):
                    self.value_of(callee_path, callee, weight * CALL, depth + 1)
        for name in sorted(loaded_names(exprs)):
            self._name(path, fn, stmt, name, weight=weight, depth=depth, why=why)

    def _name(
        self,
        path: str,
        fn: Function,
        stmt: ast.stmt,
        name: str,
        *,
        weight: float,
        depth: int,
        why: str,
    ) -> None:
        """Where the value of ``name`` read at ``stmt`` came from."""
        found = self.definitions(path, fn, name, stmt.lineno)
        for d in found:
            self.add(path, d.lineno, weight * computes(d), "flow", f"{why} ({name})")
            self.uses(path, self._function_of(path, fn, d), d, weight * DECAY, depth, why=why)
        if not found:
            self._outside(path, fn, name, weight)
        for cond, missed in self._missed(path, fn, name):
            # Relevant slicing: an assignment that did not run could have changed the value;
            # the condition that skipped it is as much a cause as one that ran.
            reason = f"decides whether line {missed} sets {name.removeprefix('self.')}"
            self.add(path, cond.lineno, weight * CONTROL, "flow", reason)
            self.uses(path, fn, cond, weight * CONTROL * DECAY, depth, why="feeds a condition")

    def _spelling(self, path: str, stmt: ast.stmt, weight: float) -> None:
        """Clues from the assertion's text: a name it reads that the statement binds or spells,
        a string literal of the statement that is in the actual value only."""
        scale = weight / FLOW_START
        for name, line in sorted(spelled(stmt)):
            if name in self.named:
                why = f"named in the failing assertion ({name})"
                self.add(path, line, NAMED * scale * computes(stmt), "named", why)
        for text, line in sorted(literals(stmt)):
            if text in self.actual and text not in self.expected:
                why = f"{text!r} is in the actual value, not the expected"
                self.add(path, line, NAMED * scale, "value", why)

    def _missed(self, path: str, fn: Function, name: str) -> list[tuple[ast.stmt, int]]:
        """For each assignment to ``name`` in ``fn`` that did not run, the innermost enclosing
        ``if``/``while``/``for`` that did, with the assignment's line."""
        found: list[tuple[ast.stmt, int]] = []
        for s in own_nodes(fn.node):
            if not (isinstance(s, ast.stmt) and name in names_bound(s)) or self.ran(path, s.lineno):
                continue
            holders = [b[i] for b, i in chain(fn.node, s) if b[i] is not s]
            ran = [h for h in holders if isinstance(h, BRANCHES) and self.ran(path, h.lineno)]
            if ran:
                found.append((ran[-1], s.lineno))
        return found

    def _fields(self, exprs: list[ast.expr]) -> list[ast.expr]:
        """Field-sensitivity, one level deep: where a value is built as ``C(..., x=v)`` or
        ``{"x": v, ...}`` and the failing assertion reads ``x``, only ``v`` reaches it (empty
        when the statement builds no such value)."""
        parts: list[ast.expr] = []
        for expr in exprs:
            if isinstance(expr, ast.Call):
                parts += [k.value for k in expr.keywords if k.arg in self.named]
            elif isinstance(expr, ast.Dict):
                parts += [
                    v
                    for k, v in zip(expr.keys, expr.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value in self.named
                ]
        return parts

    def definitions(self, path: str, fn: Function, name: str, line: int) -> list[ast.stmt]:
        """The statements that ran and assign ``name`` for ``line`` in ``fn``: those before it,
        else (a loop carries it round) any; ``self.x`` also in the other methods."""
        scopes = [fn]
        if name.startswith("self.") and fn.owner:
            scopes += [m for m in self.program.methods(path, fn.owner) if m is not fn]
        found = [
            s
            for scope in scopes
            for s in own_nodes(scope.node)
            if isinstance(s, ast.stmt)
            and s.lineno != line
            and self.ran(path, s.lineno)
            and name in names_bound(s)
        ]
        earlier = [s for s in found if s.lineno < line or not _inside(s, fn)]
        return earlier or found

    def global_name(self, path: str, fn: Function, name: str, weight: float, why: str) -> None:
        """A module-level binding of ``name`` (followed through ``from m import name`` into the
        work copy's module ``m``, and on to the module-level names its value is made of), or a
        class attribute for ``self.name``."""
        if name.startswith("self.") and fn.owner:
            for where, cls in self.program.hierarchy(path, fn.owner):
                names = self.program.outline(where).class_names.get(cls, {})
                for line in names.get(name[5:], ()):
                    self.add(where, line, weight, "module", f"class attribute {name[5:]}")
            return
        if name not in fn.positional and name not in fn.defaults:
            self._module_name(path, name, weight, why, set())

    def _module_name(
        self, path: str, name: str, weight: float, why: str, seen: set[tuple[str, str]]
    ) -> None:
        if weight < FLOOR or (path, name) in seen:
            return
        seen.add((path, name))
        o = self.program.outline(path)
        for line in o.module_names.get(name, ()):
            stmt = o.statements.get(line)
            if stmt is None or isinstance(stmt, FunctionNode | ast.ClassDef):
                continue  # a function or class is followed as a call, not as a value
            self.add(path, line, weight * computes(stmt), "module", why)
            if isinstance(stmt, ast.ImportFrom):
                target = self.program.module_path(path, stmt.module, stmt.level)
                if target is not None:
                    original = _imported_name(stmt, name)
                    self._module_name(target, original, weight, why, seen)
            for used in sorted(loaded_names(header_exprs(stmt))):
                self._module_name(path, used, weight * DECAY, f"makes {name}", seen)

    def _outside(self, path: str, fn: Function, name: str, weight: float) -> None:
        if name in fn.defaults:
            weight *= DECAY * sentinel(fn, name)
            self.add(path, fn.defaults[name], weight, "flow", f"default of {name}")
        self.global_name(path, fn, name, weight * DECAY, f"module-level {name} flows here")

    def conditions(self, path: str, fn: Function, stmt: ast.stmt) -> Iterator[ast.stmt]:
        """Enclosing ``if``/``while``/``for`` headers, and the ones in earlier statements of
        the same blocks that guard a way out of them (a ``return`` or ``raise`` that was taken
        or not, a loop that returned early)."""
        seen: set[int] = set()
        for block, index in chain(fn.node, stmt):
            holder = block[index]
            for earlier in block[:index]:
                for guard in guards(earlier):
                    if guard.lineno not in seen and self.ran(path, guard.lineno):
                        seen.add(guard.lineno)
                        yield guard
            if holder is not stmt and isinstance(holder, BRANCHES):
                yield holder

    def _function_of(self, path: str, fn: Function, stmt: ast.stmt) -> Function:
        if _inside(stmt, fn) or fn.owner is None:
            return fn
        for m in self.program.methods(path, fn.owner):
            if _inside(stmt, m):
                return m
        return fn


def sentinel(fn: Function, name: str) -> float:
    """``PASS_THROUGH`` for a parameter whose default is an empty value (``None``, ``""``,
    ``()``): a placeholder, seldom the bug; else 1."""
    args = fn.node.args
    positional = [*args.posonlyargs, *args.args]
    pairs = [
        *zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True),
        *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d),
    ]
    default = next((d for a, d in pairs if a.arg == name), None)
    return PASS_THROUGH if is_empty(default) else 1.0


def _inside(stmt: ast.stmt, fn: Function) -> bool:
    return fn.def_line <= stmt.lineno <= fn.end


def _imported_name(stmt: ast.ImportFrom, name: str) -> str:
    for alias in stmt.names:
        if (alias.asname or alias.name) == name:
            return alias.name
    return name
