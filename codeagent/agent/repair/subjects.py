"""What on a line can be None or empty: the subjects of guards and condition refinements."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codeagent.agent.repair.scope import dotted, is_module_level_name, variables
from codeagent.agent.repair.sites import call_name
from codeagent.agent.repair.source import SourceFile, Statement

MAX_SUBJECTS = 3
_ITERATING = frozenset(
    [
        "len",
        "sorted",
        "list",
        "tuple",
        "set",
        "sum",
        "any",
        "all",
        "max",
        "min",
        "enumerate",
        "zip",
        "iter",
        "reversed",
        "dict",
    ]
)
_STRING_METHODS = frozenset(
    [
        "strip",
        "lstrip",
        "rstrip",
        "split",
        "lower",
        "upper",
        "startswith",
        "endswith",
        "replace",
        "format",
        "encode",
        "join",
    ]
)
_NUMERIC = frozenset(["range", "abs", "round", "divmod", "pow", "chr", "hex", "bin", "oct"])
_MAPPING_METHODS = frozenset(["get", "items", "keys", "values", "setdefault", "pop", "update"])
_BY_ATTRIBUTE = dict.fromkeys(_STRING_METHODS, "str") | dict.fromkeys(_MAPPING_METHODS, "dict")


@dataclass(frozen=True, slots=True)
class Subject:
    """An expression on the line that fails if it is None or empty, and how it is used."""

    node: ast.AST
    parent: ast.AST
    text: str
    rank: int
    """0: dereferenced (``x.a``, ``x[i]``, ``for _ in x``), 1: an operand, 2: an argument."""
    default: str
    """The empty value its use suggests for ``x or <default>``."""
    inner: bool
    """Bound inside the statement (a comprehension or lambda variable): no guard before it."""


def subjects(file: SourceFile, statement: Statement, line: int) -> list[Subject]:
    """Names and attribute chains on ``line`` whose use fails on None, most exposed first."""
    found: dict[str, Subject] = {}
    names = variables(file, statement)
    empty = _Empties(file, statement)
    inner = _bound_inside(file, statement)
    for node, parent in file.expressions(statement):
        text = dotted(node)
        if text is None or getattr(node, "lineno", None) != line or text in found:
            continue
        stored = isinstance(getattr(node, "ctx", None), ast.Store)
        if stored and not isinstance(parent, ast.AugAssign):
            continue
        root = text.split(".")[0]
        if root == "cls" or text == "self":
            continue
        if root not in names and root != "self" and is_module_level_name(file, root):
            continue  # a module, class or function, not a value that can be None
        use = _use(node, parent)
        if use is not None:
            found[text] = Subject(node, parent, text, use[0], empty.of(use[1]), root in inner)
    return sorted(found.values(), key=lambda s: s.rank)[:MAX_SUBJECTS]


def _bound_inside(file: SourceFile, statement: Statement) -> set[str]:
    bound: set[str] = set()
    for node, _ in file.expressions(statement):
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            for generator in node.generators:
                bound.update(n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Lambda):
            a = node.args
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
            bound.update(p.arg for p in every)
    return bound


class _Empties:
    """Empty values written as the file writes strings (its quote, bytes where bytes are used)."""

    def __init__(self, file: SourceFile, statement: Statement) -> None:
        self.quote = "'" if file.text.count("'") > file.text.count('"') else '"'
        self.bytes = any(
            isinstance(n, ast.Constant) and isinstance(n.value, bytes)
            for n, _ in file.expressions(statement)
        )

    def of(self, kind: str) -> str:
        if kind == "str":
            return ("b" if self.bytes else "") + self.quote * 2
        return {"list": "[]", "dict": "{}", "number": "0"}[kind]


def _use(node: ast.AST, parent: ast.AST) -> tuple[int, str] | None:
    """How exposed ``node`` is to None (0 most), and the kind of empty value its use wants."""
    match parent:
        case ast.Attribute(value=value, attr=attr) if value is node:
            return 0, _BY_ATTRIBUTE.get(attr, "list")
        case ast.Subscript(value=value, slice=index) if value is node:
            key = isinstance(index, ast.Constant) and isinstance(index.value, str)
            return 0, "dict" if key else "list"
        case ast.For(iter=it) | ast.AsyncFor(iter=it) | ast.comprehension(iter=it) if it is node:
            return 0, "list"
        case ast.Compare(ops=ops, comparators=comparators) if any(
            isinstance(op, ast.In | ast.NotIn) for op in ops
        ) and any(c is node for c in comparators):
            return 0, "list"
        case ast.BinOp() | ast.AugAssign():
            return 1, "number"
        case ast.Compare(ops=ops) if any(
            isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in ops
        ):
            return 1, "number"
        case ast.Call(func=func) if func is not node:
            name = call_name(parent)
            if name in _NUMERIC:
                return 2, "number"
            return 2, "list" if name in _ITERATING else "str"
        case _:
            return None
