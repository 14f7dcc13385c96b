"""What one statement of Python reads, binds, calls and computes, and the blocks around it:
the ``ast`` questions the localiser asks (``outline`` per file, ``flow`` per failure).

Pure functions of ``ast`` nodes; nothing here knows about tests or coverage.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def names_bound(stmt: ast.stmt) -> Iterator[str]:
    """The names a statement binds or changes: plain names, ``obj.attr`` as ``"obj.attr"``, and
    for ``x[k] = v`` or ``x.append(v)`` the container ``x``."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    elif isinstance(stmt, ast.Import | ast.ImportFrom):
        yield from ((a.asname or a.name).split(".")[0] for a in stmt.names)
    elif isinstance(stmt, FunctionNode | ast.ClassDef):
        yield stmt.name
    elif (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr in MUTATORS
    ):
        targets = [stmt.value.func.value]
    for target in targets:
        yield from _target_names(target)


MUTATORS = frozenset({
    "append", "extend", "insert", "update", "add", "setdefault", "pop", "popitem", "remove",
    "discard", "clear", "sort", "reverse", "appendleft", "popleft", "extendleft",
})  # fmt: skip
"""Methods that change the container they are called on (a call is then a definition of it)."""


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        yield f"{target.value.id}.{target.attr}"
    elif isinstance(target, ast.Subscript | ast.Starred):
        yield from _target_names(target.value)
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)


def docstring_lines(body: list[ast.stmt]) -> range:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return range(first.lineno, (first.end_lineno or first.lineno) + 1)
    return range(0)


def blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested directly in a compound statement."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(stmt, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body
    for case in getattr(stmt, "cases", ()):
        yield case.body


PASS_THROUGH = 0.6
"""A statement that only passes values on (``return x``, ``y = x``, ``return P(a, b)``)
computes nothing that could be wrong: this much of the weight of one that does."""


BRANCHES = ast.If | ast.While | ast.For | ast.AsyncFor


def header_exprs(stmt: ast.stmt) -> list[ast.expr]:
    """The expressions a statement evaluates itself (its nested statements left out)."""
    if isinstance(stmt, FunctionNode | ast.ClassDef):
        return []
    found: list[ast.expr] = []
    for _, value in ast.iter_fields(stmt):
        if isinstance(value, ast.expr):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, ast.expr))
            found.extend(i.context_expr for i in value if isinstance(i, ast.withitem))
    if isinstance(stmt, ast.Try | ast.TryStar):
        found.extend(h.type for h in stmt.handlers if h.type is not None)
    return found


def loaded_names(exprs: Iterable[ast.expr]) -> set[str]:
    """Names read as values (``self.x`` as ``"self.x"``). A name that is only called
    (``f(x)``, ``self.f(x)``) is left out: the walk follows calls as calls."""
    names: set[str] = set()
    exprs = list(exprs)
    called = {id(n.func) for e in exprs for n in ast.walk(e) if isinstance(n, ast.Call)}
    for expr in exprs:
        for node in ast.walk(expr):
            if id(node) in called:
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(f"self.{node.attr}")
    return names


def calls_in(exprs: Iterable[ast.expr]) -> list[ast.Call]:
    """Every call in the expressions, in source order."""
    calls = [n for e in exprs for n in ast.walk(e) if isinstance(n, ast.Call)]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset))


def own_nodes(fn: FunctionNode) -> Iterator[ast.AST]:
    """The nodes of a function's body, nested functions and classes left out."""
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        yield node
        todo.extend(
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, FunctionNode | ast.ClassDef | ast.Lambda)
        )


def chain(fn: FunctionNode, stmt: ast.stmt) -> list[tuple[list[ast.stmt], int]]:
    """The blocks from ``fn``'s body down to ``stmt``, each with the index of the statement in
    it that holds ``stmt``."""
    found: list[tuple[list[ast.stmt], int]] = []
    block: list[ast.stmt] | None = fn.body
    while block:
        for index, s in enumerate(block):
            if s.lineno <= stmt.lineno <= (s.end_lineno or s.lineno):
                found.append((block, index))
                block = None if s is stmt else _block_holding(s, stmt)
                break
        else:
            break
    return found


def _block_holding(compound: ast.stmt, stmt: ast.stmt) -> list[ast.stmt] | None:
    for block in blocks(compound):
        if block[0].lineno <= stmt.lineno <= (block[-1].end_lineno or block[-1].lineno):
            return block
    return None


def computes(stmt: ast.stmt) -> float:
    """1, or ``PASS_THROUGH`` for a statement whose expressions are names, attributes and
    calls of those on names and attributes (an import, ``return x``, ``y = f(a, b.c)``), or
    that starts an empty value (``x = []``, ``x = {}``, ``x = None``, ``total = 0``)."""
    value = getattr(stmt, "value", None)
    if isinstance(stmt, ast.Assign | ast.AnnAssign) and is_empty(value):
        return PASS_THROUGH
    return passes_on(header_exprs(stmt))


def passes_on(exprs: Iterable[ast.expr]) -> float:
    """``computes`` for expressions."""
    plain = ast.Name | ast.Attribute | ast.Call | ast.keyword | ast.expr_context
    if all(isinstance(node, plain) for expr in exprs for node in ast.walk(expr)):
        return PASS_THROUGH
    return 1.0


def is_empty(expr: object) -> bool:
    """An empty value: ``None``, ``""``, ``0``/``False``, ``[]``, ``{}``, ``set()``..."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        return not expr.elts
    if isinstance(expr, ast.Dict):
        return not expr.keys
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        return expr.func.id in {"list", "dict", "set", "tuple"} and not expr.args
    return isinstance(expr, ast.Constant) and expr.value in (None, "", 0)


def spelled(stmt: ast.stmt) -> set[tuple[str, int]]:
    """The names a statement binds (``self.x`` as ``x``), its keyword argument names and its
    string constants, each with the line it is on (a statement may span several)."""
    found = {(name.rsplit(".", 1)[-1], stmt.lineno) for name in names_bound(stmt)}
    for expr in header_exprs(stmt):
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add((node.value, node.lineno))
            elif isinstance(node, ast.keyword) and node.arg:
                found.add((node.arg, node.value.lineno))
    return found


def literals(stmt: ast.stmt) -> set[tuple[str, int]]:
    """The string literals of a statement (blank ones left out), with their lines."""
    return {
        (node.value, node.lineno)
        for expr in header_exprs(stmt)
        for node in ast.walk(expr)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip()
    }


def guards(stmt: ast.stmt) -> list[ast.stmt]:
    """The ``if``/``while``/``for`` statements in ``stmt`` (itself included) on the way to a
    way out of the enclosing block: ``return``, ``raise``, or a ``break``/``continue`` of a
    loop outside ``stmt``."""
    found: list[ast.stmt] = []

    def walk(node: ast.stmt, path: list[ast.stmt], in_loop: bool) -> None:
        for block in blocks(node):
            for child in block:
                leaves = isinstance(child, ast.Return | ast.Raise) or (
                    isinstance(child, ast.Break | ast.Continue) and not in_loop
                )
                if leaves:
                    found.extend(p for p in path if p not in found)
                elif not isinstance(child, FunctionNode | ast.ClassDef):
                    loop = in_loop or isinstance(child, ast.For | ast.While)
                    walk(child, [*path, child] if isinstance(child, BRANCHES) else path, loop)

    if isinstance(stmt, BRANCHES | ast.Try | ast.With):
        start: list[ast.stmt] = [stmt] if isinstance(stmt, BRANCHES) else []
        walk(stmt, start, isinstance(stmt, ast.For | ast.While))
    return found
