"""The caught exception type: ``except KeyError`` -> ``except (KeyError, IndexError)``.

Donors, best first: the exceptions the failure names (a handler that misses the exception the
test sees is the usual bug: BugsInPy's pandas fixes add ``TypeError``/``ValueError``/
``OverflowError`` to a tuple), then the exceptions the ``try`` body can raise by its
constructs (subscripts, conversions, division, attribute access), then ``Exception``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.scope import dotted, walk
from codeagent.agent.repair.sites import call_name, edit, replace
from codeagent.agent.repair.source import SourceFile

_BROADEST = frozenset({"Exception", "BaseException"})
_CONVERSIONS = frozenset(
    {"int", "float", "complex", "Decimal", "Fraction", "loads", "fromisoformat", "strptime"}
)
_SEARCHES = frozenset({"index", "remove"})
_FILES = frozenset(
    {"open", "read_text", "read_bytes", "stat", "listdir", "remove", "unlink", "mkdir"}
)
MAX_DONORS = 5


def exception_type(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """Widen (or replace) the type of the handler on ``line``, or of the handlers of the ``try``
    statements whose body holds ``line``."""
    handlers: list[ast.ExceptHandler] = []
    for statement in file.statements_at(line):
        if isinstance(statement.node, ast.ExceptHandler):
            handlers.append(statement.node)
        for owner in statement.tries:
            handlers += [h for h in owner.handlers if isinstance(h, ast.ExceptHandler)]
    seen: set[int] = set()
    for handler in handlers:
        if handler.type is None or id(handler) in seen:
            continue
        seen.add(id(handler))
        caught = _names(handler.type)
        if caught is None or caught & _BROADEST:
            continue
        for donor, weight in _donors(file, handler, caught, hint):
            yield from _variants(file, handler, handler.type, donor, weight)


def _variants(
    file: SourceFile, handler: ast.ExceptHandler, type_: ast.expr, donor: str, weight: float
) -> Iterator[Edit]:
    text = file.segment(type_)
    if isinstance(type_, ast.Tuple):
        inner = text.rstrip()
        closing = inner.endswith(")")
        body = inner[:-1].rstrip() if closing else inner
        body = body[:-1] if body.endswith(",") else body
        widened = f"{body}, {donor})" if closing else f"({body}, {donor})"
    else:
        widened = f"({text}, {donor})"
        replaced = replace(file, type_, handler, donor)
        yield edit(
            "exception_type",
            replaced,
            f"except {text}",
            f"except {donor}",
            file.start(type_),
            weight=weight / 3,
        )
    splice = replace(file, type_, handler, widened)
    yield edit(
        "exception_type",
        splice,
        f"except {text}",
        f"except {widened}",
        file.start(type_),
        weight=weight,
    )


def _names(type_: ast.expr) -> frozenset[str] | None:
    items = type_.elts if isinstance(type_, ast.Tuple) else [type_]
    names = [dotted(item) for item in items]
    if any(n is None for n in names):
        return None
    return frozenset(n.rsplit(".", 1)[-1] for n in names if n is not None)


def _donors(
    file: SourceFile, handler: ast.ExceptHandler, caught: frozenset[str], hint: Hint
) -> list[tuple[str, float]]:
    ranked: dict[str, float] = {}
    for name in hint.exceptions:
        if name != "AssertionError":  # the test's own failure, not the code's
            ranked.setdefault(name, 3.0)
    for name in raisable(file.try_of(handler)):
        ranked.setdefault(name, 1.0)
    ranked.setdefault("Exception", 0.5)
    return [(n, w) for n, w in ranked.items() if n not in caught][:MAX_DONORS]


def raisable(owner: ast.Try | ast.TryStar) -> list[str]:
    """Exceptions the ``try`` body can raise, judged by its constructs, in order of appearance."""
    found: dict[str, None] = {}
    for statement in owner.body:
        for node in [statement, *(n for n, _ in walk(statement))]:
            for name in _raised_by(node):
                found.setdefault(name)
    return list(found)


def _raised_by(node: ast.AST) -> tuple[str, ...]:
    match node:
        case ast.Raise(exc=exc) if exc is not None:
            raised = dotted(exc.func if isinstance(exc, ast.Call) else exc)
            return (raised.rsplit(".", 1)[-1],) if raised else ()
        case ast.Subscript(ctx=ast.Load()):
            return ("KeyError", "IndexError")
        case ast.Attribute(ctx=ast.Load()):
            return ("AttributeError",)
        case ast.BinOp(op=ast.Div() | ast.FloorDiv() | ast.Mod()):
            return ("ZeroDivisionError",)
        case ast.Import() | ast.ImportFrom():
            return ("ImportError",)
        case ast.Call():
            name = call_name(node)
            if name in _CONVERSIONS or name in _SEARCHES:
                return ("ValueError", "TypeError")
            if name in _FILES:
                return ("OSError",)
            if name == "next":
                return ("StopIteration",)
            return ("TypeError",)
        case _:
            return ()
