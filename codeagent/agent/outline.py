"""The shape of one Python file as the localiser needs it: which lines hold code, its functions
and their parts (decorators, signature, defaults, first statements), the statement before a line,
the ``try`` statements around a line, and the names a module or class binds.

Pure: ``outline(path, text)`` parses once with ``ast``; a file that does not parse still gets an
outline (every non-blank, non-comment line counts as code; no functions), so a work copy with a
syntax error can still be localised.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from codeagent.agent.statements import FunctionNode, blocks, docstring_lines, names_bound

MODULE = "<module>"
"""The qualname of code outside any function or class."""


@dataclass(frozen=True, slots=True)
class Function:
    """One ``def``, methods and nested functions included."""

    qualname: str
    """``f``, ``Class.method``, ``outer.<locals>.inner``."""
    start: int
    """The first decorator's line, else the ``def`` line."""
    end: int
    def_line: int
    decorator_lines: tuple[int, ...]
    defaults: Mapping[str, int]
    """Parameter name -> the line of its default value."""
    positional: tuple[str, ...]
    """Positional parameter names in order (``self`` included)."""
    body: tuple[int, ...]
    """The first line of each top-level body statement, a docstring left out."""
    node: FunctionNode = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def owner(self) -> str | None:
        """The qualname of the class it is a method of, if it is one."""
        head, _, _ = self.qualname.rpartition(".")
        return head if head and not head.endswith("<locals>") else None


@dataclass(frozen=True, slots=True)
class Outline:
    path: str
    code_lines: frozenset[int]
    """Lines where some statement or expression starts; blank lines, comments, docstrings and
    bare annotations (``x: int``) are not among them."""
    functions: tuple[Function, ...] = ()
    module_names: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Name -> the module-level lines that bind it (assignments, imports, defs)."""
    class_names: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)
    """Class qualname -> attribute name -> the class-body lines that bind it."""
    bases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Class qualname -> the simple names of its base classes."""
    statements: Mapping[int, ast.stmt] = field(default_factory=dict, repr=False)
    """Line -> the innermost statement that starts on it."""
    previous: Mapping[int, int] = field(default_factory=dict)
    """A statement's line -> the line of the statement before it in the same block."""
    top: tuple[tuple[int, int, str], ...] = ()
    """Module-level statements as ``(start, end, name)``: the class name for a class, else
    ``MODULE`` (decorators included in the span)."""
    reads: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Name -> the lines that read it; attributes as ``".attr"`` whatever their object."""
    handlers: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    """A line inside ``try`` bodies -> the lines of their ``except`` clauses, innermost
    ``try`` first."""

    def statement_at(self, line: int) -> ast.stmt | None:
        """The innermost statement whose lines hold ``line``."""
        for start in range(line, 0, -1):
            stmt = self.statements.get(start)
            if stmt is not None and (stmt.end_lineno or start) >= line:
                return stmt
        return None

    def users(self, line: int) -> tuple[int, ...]:
        """For a line that runs only at import time, the lines that use what it made: a
        function's first statement for its decorators and signature (defaults included), the
        readers of the names a module-level or class-level assignment or import binds (each
        reader with its statement's first line). Empty for other lines, and for ``def`` and
        ``class`` statements themselves."""
        fn = self.function_at(line)
        if fn is not None:
            return fn.body[:1] if fn.body and line < fn.body[0] else ()
        stmt = self.statement_at(line)
        if stmt is None or isinstance(stmt, FunctionNode | ast.ClassDef):
            return ()
        names = [n for n in names_bound(stmt) if "." not in n]
        # A class attribute is read as an attribute of anything (self.x, cls.x, Class.x).
        keys = [f".{n}" for n in names] if self._class_level(stmt.lineno) else names
        found: set[int] = set()
        for key in keys:
            for reader in self.reads.get(key, ()):
                holder = self.statement_at(reader)
                found.add(reader)
                if holder is not None:
                    found.add(holder.lineno)
        found -= set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
        return tuple(sorted(found))

    def _class_level(self, line: int) -> bool:
        return any(line in ls for names in self.class_names.values() for ls in names.values())

    def function_at(self, line: int) -> Function | None:
        """The innermost function whose span (decorators included) holds ``line``."""
        best: Function | None = None
        for f in self.functions:
            if f.start <= line <= f.end and (best is None or f.start >= best.start):
                best = f
        return best


def outline(path: str, text: str) -> Outline:
    """The outline of the file ``path`` whose text is ``text``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        lines = text.splitlines()
        code = {i for i, s in enumerate(lines, 1) if s.strip() and not s.lstrip().startswith("#")}
        return Outline(path, frozenset(code))
    functions = tuple(_functions(tree.body, ""))
    statements: dict[int, ast.stmt] = {}
    previous: dict[int, int] = {}
    handlers: dict[int, tuple[int, ...]] = {}
    _walk_blocks(tree.body, statements, previous, handlers)
    code_lines, reads = _lines(tree)
    return Outline(
        path,
        code_lines,
        functions,
        _bindings(tree.body),
        dict(_class_bindings(tree.body, "")),
        {q: tuple(_simple(b) for b in c.bases) for q, c in _classes(tree.body, "")},
        statements,
        previous,
        tuple(_top(tree.body)),
        reads,
        handlers,
    )


def _top(body: list[ast.stmt]) -> Iterator[tuple[int, int, str]]:
    for stmt in body:
        start, name = stmt.lineno, MODULE
        if isinstance(stmt, FunctionNode | ast.ClassDef):
            start = min((stmt.lineno, *(d.lineno for d in stmt.decorator_list)))
            name = stmt.name
        yield start, stmt.end_lineno or stmt.lineno, name


def _lines(tree: ast.Module) -> tuple[frozenset[int], dict[str, tuple[int, ...]]]:
    """The code lines (see ``Outline.code_lines``) and the reads (``Outline.reads``), in one
    walk."""
    lines: set[int] = set()
    docs: set[int] = set(docstring_lines(tree.body))
    reads: dict[str, set[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt | ast.expr | ast.excepthandler | ast.arg | ast.keyword):
            lines.add(node.lineno)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads.setdefault(node.id, set()).add(node.lineno)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            reads.setdefault(f".{node.attr}", set()).add(node.lineno)
        elif isinstance(node, FunctionNode | ast.ClassDef):
            docs.update(docstring_lines(node.body))
        elif isinstance(node, ast.AnnAssign) and node.value is None:
            # ``x: int`` runs nothing (a dataclass field without a default).
            docs.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return frozenset(lines - docs), {n: tuple(sorted(ls)) for n, ls in reads.items()}


def _functions(body: list[ast.stmt], prefix: str) -> Iterator[Function]:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            yield from _functions(stmt.body, f"{prefix}{stmt.name}.")
        elif isinstance(stmt, FunctionNode):
            qualname = f"{prefix}{stmt.name}"
            yield _function(stmt, qualname)
            yield from _functions(stmt.body, f"{qualname}.<locals>.")
        else:
            # Functions defined under if/try/with at the same level still belong to it.
            for block in blocks(stmt):
                yield from _functions(block, prefix)


def _function(node: FunctionNode, qualname: str) -> Function:
    args = node.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    defaults = {
        name: d.lineno for name, d in zip(positional[::-1], args.defaults[::-1], strict=False)
    }
    defaults.update(
        {
            a.arg: d.lineno
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
            if d is not None
        }
    )
    skip = set(docstring_lines(node.body))
    decorators = tuple(d.lineno for d in node.decorator_list)
    return Function(
        qualname=qualname,
        start=min((node.lineno, *decorators)),
        end=node.end_lineno or node.lineno,
        def_line=node.lineno,
        decorator_lines=decorators,
        defaults=defaults,
        positional=tuple(positional),
        body=tuple(s.lineno for s in node.body if s.lineno not in skip),
        node=node,
    )


def _walk_blocks(
    body: list[ast.stmt],
    statements: dict[int, ast.stmt],
    previous: dict[int, int],
    handlers: dict[int, tuple[int, ...]],
) -> None:
    before: int | None = None
    for stmt in body:
        statements[stmt.lineno] = stmt
        if before is not None:
            previous[stmt.lineno] = before
        before = stmt.lineno
        if isinstance(stmt, ast.Try | ast.TryStar) and stmt.handlers:
            clauses = tuple(h.lineno for h in stmt.handlers)
            for inner in stmt.body:
                for line in range(inner.lineno, (inner.end_lineno or inner.lineno) + 1):
                    # Innermost first: the exception meets those clauses first.
                    handlers[line] = clauses + handlers.get(line, ())
        for block in blocks(stmt):
            _walk_blocks(block, statements, previous, handlers)


def _bindings(body: list[ast.stmt]) -> dict[str, tuple[int, ...]]:
    found: dict[str, list[int]] = {}
    for stmt in body:
        for name in names_bound(stmt):
            found.setdefault(name, []).append(stmt.lineno)
        if not isinstance(stmt, FunctionNode | ast.ClassDef):
            for block in blocks(stmt):  # module-level if/try: still module bindings
                for name, lines in _bindings(block).items():
                    found.setdefault(name, []).extend(lines)
    return {name: tuple(lines) for name, lines in found.items()}


def _class_bindings(
    body: list[ast.stmt], prefix: str
) -> Iterator[tuple[str, dict[str, tuple[int, ...]]]]:
    for qualname, stmt in _classes(body, prefix):
        yield qualname, _bindings(stmt.body)


def _classes(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.ClassDef]]:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            qualname = f"{prefix}{stmt.name}"
            yield qualname, stmt
            yield from _classes(stmt.body, f"{qualname}.")


def _simple(expr: ast.expr) -> str:
    """``Base`` for ``Base``, ``mod.Base`` and ``Base[T]``."""
    if isinstance(expr, ast.Subscript):
        return _simple(expr.value)
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""
