"""``SourceFile``: one parsed Python file, and the position arithmetic to splice its text.

The tree is parsed once per file; everything the operators ask of it (the statements that own a
line, the expressions of a statement's header, offsets of nodes) is indexed or cached here, so
that running every operator over a few suspect lines costs a few milliseconds.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace

_NEWLINE = re.compile(r"\r\n|\r|\n")
_BODY_FIELDS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
# Annotations are skipped: a changed type hint changes no behaviour a test can see.
_SKIPPED_FIELDS = frozenset({"annotation", "returns", "type_comment", "type_params", "pattern"})

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """A statement, ``except`` clause or ``case`` clause, with what surrounds it.

    ``first``..``last`` are the lines of its header: the whole statement when it is simple, the
    decorators and the line(s) before the body when it is compound.
    """

    node: ast.stmt | ast.excepthandler | ast.match_case
    first: int
    last: int
    where: Where

    @property
    def function(self) -> FunctionNode | None:
        return self.where.function

    @property
    def cls(self) -> ast.ClassDef | None:
        return self.where.cls

    @property
    def in_loop(self) -> bool:
        return self.where.in_loop

    @property
    def tries(self) -> tuple[ast.Try | ast.TryStar, ...]:
        return self.where.tries


@dataclass(frozen=True, slots=True)
class Where:
    """What encloses a statement."""

    function: FunctionNode | None = None
    """The innermost function."""
    outermost: FunctionNode | None = None
    """The outermost function (its names are visible to nested functions as closures)."""
    cls: ast.ClassDef | None = None
    """The class whose body (or method, at any depth) holds it."""
    in_loop: bool = False
    """A ``continue`` here stays inside the same function's loop."""
    tries: tuple[ast.Try | ast.TryStar, ...] = ()
    """The ``try`` statements whose body holds this statement, innermost first."""


class SourceFile:
    """A Python file's text and tree; build with :meth:`parse`."""

    def __init__(self, text: str, tree: ast.Module, bom: int) -> None:
        self.text = text
        self.tree = tree
        self._bom = bom
        self._starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        self._statements: dict[int, list[Statement]] = {}
        self._exprs: dict[int, list[tuple[ast.AST, ast.AST]]] = {}
        self._owners: dict[int, ast.Try | ast.TryStar] = {}
        self.cache: dict[tuple[str, int], object] = {}
        """Per-node results of the scope queries (``scope.py``), keyed by (query, id(node))."""
        nl = _NEWLINE.search(text)
        self.newline = nl.group() if nl else "\n"
        self._index(tree.body, Where())

    @classmethod
    def parse(cls, text: str) -> SourceFile | None:
        """The parsed file, or None when it is not valid Python (no candidate can come of it)."""
        bom = 1 if text.startswith("\ufeff") else 0
        try:
            tree = ast.parse(text[bom:])
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return cls(text, tree, bom)

    # -- positions ---------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, lineno: int) -> int:
        return self._starts[lineno - 1] + (self._bom if lineno == 1 else 0)

    def line_text(self, lineno: int) -> str:
        """The line without its line ending."""
        end = self._starts[lineno] if lineno < len(self._starts) else len(self.text)
        return self.text[self.line_start(lineno) : end].rstrip("\r\n")

    def offset(self, lineno: int, col: int) -> int:
        """The text offset of ``col`` (UTF-8 bytes, as ``ast`` counts) on line ``lineno``."""
        start = self.line_start(lineno)
        head = self.text[start : start + col]
        if head.isascii():
            return start + col
        return start + len(self.line_text(lineno).encode()[:col].decode("utf-8", "replace"))

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node) : self.end(node)]

    def line_of(self, offset: int) -> int:
        return bisect_right(self._starts, offset)

    def indent(self, lineno: int) -> str:
        line = self.line_text(lineno)
        return line[: len(line) - len(line.lstrip(" \t\f"))]

    def starts_line(self, node: ast.AST) -> bool:
        """Only indentation precedes the node on its first line."""
        start = self.start(node)
        return not self.text[self.line_start(node.lineno) : start].strip()  # type: ignore[attr-defined]

    # -- statements --------------------------------------------------------------------------

    def statements_at(self, line: int) -> list[Statement]:
        """The statements whose header covers ``line``, outermost first."""
        return self._statements.get(line, [])

    def expressions(self, statement: Statement) -> list[tuple[ast.AST, ast.AST]]:
        """(node, parent) for every expression-level node of the header, outermost first.

        Skipped: nested statement bodies, annotations, ``match`` patterns and f-strings (whose
        inner positions Python 3.11 does not report reliably).
        """
        key = id(statement.node)
        found = self._exprs.get(key)
        if found is None:
            found = list(_header_nodes(statement.node))
            self._exprs[key] = found
        return found

    def try_of(self, handler: ast.excepthandler) -> ast.Try | ast.TryStar:
        """The ``try`` statement an ``except`` clause belongs to."""
        return self._owners[id(handler)]

    def _index(self, body: list[ast.stmt], where: Where) -> None:
        # Iterative over siblings, recursive over nesting depth (bounded by Python's own limit).
        for node in body:
            self._add(node, where)
            inner = where
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = replace(
                    where, function=node, outermost=where.outermost or node, in_loop=False
                )
            elif isinstance(node, ast.ClassDef):
                inner = Where(cls=node)
            elif isinstance(node, _LOOPS):
                inner = replace(where, in_loop=True)
            if isinstance(node, ast.Try | ast.TryStar):
                self._index(node.body, replace(inner, tries=(node, *inner.tries)))
                for handler in node.handlers:
                    self._owners[id(handler)] = node
                    self._add(handler, inner)
                    self._index(handler.body, inner)
                self._index(node.orelse, inner)
                self._index(node.finalbody, inner)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    self._add(case, inner)
                    self._index(case.body, inner)
            else:
                self._index(getattr(node, "body", []), inner)
                # A loop's `else` is not in the loop.
                self._index(
                    getattr(node, "orelse", []), where if isinstance(node, _LOOPS) else inner
                )

    def _add(self, node: ast.stmt | ast.excepthandler | ast.match_case, where: Where) -> None:
        first, last = _header_lines(node)
        statement = Statement(node, first, last, where)
        for line in range(first, last + 1):
            self._statements.setdefault(line, []).append(statement)


def _header_lines(node: ast.stmt | ast.excepthandler | ast.match_case) -> tuple[int, int]:
    first = node.pattern.lineno if isinstance(node, ast.match_case) else node.lineno
    header_end = first
    for field, value in ast.iter_fields(node):
        if field in _BODY_FIELDS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast.arguments):
                item_end = max((_end_line(a) for a in _argument_nodes(item)), default=first)
            else:
                item_end = _end_line(item)
            header_end = max(header_end, item_end)
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = min(first, *(d.lineno for d in decorators))
    body = getattr(node, "body", None)
    if not isinstance(body, list) or not body:
        return first, max(header_end, getattr(node, "end_lineno", None) or first)
    head = body[0]
    body_first: int = head.lineno
    head_decorators = getattr(head, "decorator_list", None)
    if head_decorators:
        body_first = min(body_first, *(d.lineno for d in head_decorators))
    return first, max(header_end, body_first - 1)


def _end_line(node: object) -> int:
    end = getattr(node, "end_lineno", None)
    return end if isinstance(end, int) else 0


def _argument_nodes(arguments: ast.arguments) -> list[ast.AST]:
    nodes: list[ast.AST] = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    nodes += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    nodes += [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    return nodes


def _header_nodes(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    stack: list[tuple[ast.AST, ast.AST]] = []
    for field, value in reversed(list(ast.iter_fields(node))):
        if field in _BODY_FIELDS or field in _SKIPPED_FIELDS:
            continue
        _push(stack, value, node)
    while stack:
        child, parent = stack.pop()
        if isinstance(child, ast.JoinedStr):
            continue
        if isinstance(child, ast.expr):
            yield child, parent
        for field, value in reversed(list(ast.iter_fields(child))):
            if field not in _SKIPPED_FIELDS:
                _push(stack, value, child)


def _push(stack: list[tuple[ast.AST, ast.AST]], value: object, parent: ast.AST) -> None:
    if isinstance(value, ast.AST):
        if not isinstance(value, ast.expr_context | ast.operator | ast.cmpop | ast.boolop):
            stack.append((value, parent))
    elif isinstance(value, list):
        stack.extend((v, parent) for v in reversed(value) if isinstance(v, ast.AST))
