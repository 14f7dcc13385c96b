"""Literals and bounds: a number ±1, a range/slice/index bound ±1, a string from nearby.

"Change Numeric Literal" is the seventh most frequent pattern of TSSB-3M (97K fixes); bound
adjustments (``range(n)`` -> ``range(n + 1)``, ``len(x) - 1`` -> ``len(x)``, ``x[:k]`` ->
``x[:k + 1]``) are the off-by-one fixes that dominate loop and indexing bugs in Defects4J and
BugsInPy. A string literal is replaced by another string literal of the same kind (dictionary
keys, ``getattr`` names) used nearby, or one the failure message quotes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import ARITH, Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.scope import StringUse, string_kind, strings
from codeagent.agent.repair.sites import edit, find_token, nodes_on, operand, replace, starts_on
from codeagent.agent.repair.source import SourceFile, Statement

MAX_STRINGS = 6


def numeric_literal(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """An integer literal ±1 (``0`` -> ``1``/``-1``, ``-1`` -> ``-2``/``0``)."""
    for node, parent, _ in nodes_on(file, line):
        value = _integer(node)
        if value is None or not starts_on(file, node, line):
            continue
        if isinstance(node, ast.Constant) and isinstance(parent, ast.UnaryOp):
            continue  # handled with its sign
        text = file.segment(node)
        for new in (value + 1, value - 1):
            if new == 0 and _unit_step(node, parent):
                continue  # `n - 1` -> `n` is off_by_one's, without the `- 0`
            rendered = _render(new, text)
            yield edit(
                "numeric_literal",
                replace(file, node, parent, rendered),
                text,
                rendered,
                file.start(node),
            )


def off_by_one(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """A bound ±1: ``range`` arguments, slice bounds, indices, ``len(x)``; ``e ± 1`` -> ``e``."""
    for node, parent, _ in nodes_on(file, line):
        if not starts_on(file, node, line):
            continue
        if isinstance(node, ast.BinOp) and _has_step(node):
            kept = _without_step(file, node)
            if kept is not None:
                splice = replace(file, node, parent, kept)
                yield edit("off_by_one", splice, file.segment(node), kept, file.start(node))
            continue
        if _is_bound(node, parent) and _integer(node) is None:
            yield from _plus_minus(file, node, parent)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
            for index in node.slice.elts:  # `grid[i, j]`: each index is a bound
                if _is_bound(index, node) and _integer(index) is None and index.lineno == line:
                    yield from _plus_minus(file, index, node.slice)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "range"
            and len(node.args) == 1
            and not node.keywords
            and not isinstance(node.args[0], ast.Starred)
        ):
            bound = node.args[0]
            at = file.start(bound) - file.start(node)
            call = file.segment(node)
            text = call[:at] + "1, " + call[at:]
            yield edit(
                "off_by_one", replace(file, node, parent, text), call, text, file.start(bound)
            )


def _plus_minus(file: SourceFile, node: ast.AST, parent: ast.AST) -> Iterator[Edit]:
    text = file.segment(node)
    base = operand(text, node, ARITH)
    for sign in ("+", "-"):
        new = f"{base} {sign} 1"
        yield edit("off_by_one", replace(file, node, parent, new), text, new, file.start(node))


def _is_bound(node: ast.AST, parent: ast.AST) -> bool:
    if isinstance(node, ast.Starred | ast.Slice | ast.Tuple) or _is_text(node) or _has_step(node):
        return False
    match parent:
        case ast.Call(func=ast.Name(id="range"), args=args):
            return any(node is a for a in args[:2])
        case ast.Slice(lower=lower, upper=upper):
            return node is lower or node is upper
        case ast.Subscript(slice=index):
            return node is index or (
                isinstance(index, ast.Tuple) and any(node is e for e in index.elts)
            )
        case ast.BinOp(op=ast.Add() | ast.Sub(), right=right) if _integer(right) is not None:
            return False  # already `len(x) - 1`: off_by_one drops the step, literals move it
        case _:
            return (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "len"
            )


def _has_step(node: ast.AST) -> bool:
    """``e + 1``, ``e - 1`` or ``1 + e``: a bound already adjusted by one."""
    if not isinstance(node, ast.BinOp) or _is_text(node.left) or _is_text(node.right):
        return False
    if isinstance(node.op, ast.Add | ast.Sub) and _integer(node.right) == 1:
        return True
    return isinstance(node.op, ast.Add) and _integer(node.left) == 1


def _without_step(file: SourceFile, node: ast.BinOp) -> str | None:
    """``e`` of ``e ± 1`` or ``1 + e``, with its own parentheses."""
    token = find_token(file, file.end(node.left), file.start(node.right), r"[-+]")
    if token is None:
        return None
    if _integer(node.right) == 1:
        return file.text[file.start(node) : token[0]].rstrip()
    return file.text[token[1] : file.end(node)].lstrip()


def _integer(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return None if inner is None or not isinstance(node.operand, ast.Constant) else -inner
    return None


def _unit_step(node: ast.AST, parent: ast.AST) -> bool:
    """The ``1`` of ``e ± 1`` / ``1 + e``: dropping it is off_by_one's (without a ``- 0``)."""
    return _has_step(parent) and _integer(node) == 1


def _render(value: int, like: str) -> str:
    digits = like.lstrip("-").lower()
    magnitude = abs(value)
    if digits.startswith("0x"):
        body = hex(magnitude)
    elif digits.startswith("0o"):
        body = oct(magnitude)
    elif digits.startswith("0b"):
        body = bin(magnitude)
    else:
        body = str(magnitude)
    return ("-" if value < 0 else "") + body


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def string_literal(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """A string literal replaced by another of the same kind used nearby, or quoted in the
    failure; one candidate per donor, nearest and same-kind first."""
    for node, parent, statement in nodes_on(file, line):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)):
            continue
        if not starts_on(file, node, line) or _is_docstring(statement, node):
            continue
        if node.end_lineno != node.lineno:
            continue  # a long text or pieces concatenated over lines (and comments): not a key
        text = file.segment(node)
        donors = _donors(file, statement, node, string_kind(node, parent), hint)
        for rank, donor in enumerate(donors):
            rendered = _quote(donor, text)
            splice = replace(file, node, parent, rendered)
            yield edit(
                "string_literal", splice, text, rendered, file.start(node), weight=1 / (1 + rank)
            )


def _donors(
    file: SourceFile, statement: Statement, node: ast.Constant, kind: str, hint: Hint
) -> list[str | bytes]:
    scopes: list[ast.AST] = [s for s in (statement.function, statement.cls) if s is not None]
    uses: list[tuple[int, int, str | bytes]] = []
    if isinstance(node.value, str):
        uses += [(0, 0, value) for value in hint.strings]
    for depth, scope in enumerate([*scopes, file.tree]):
        for use in strings(file, scope):
            if type(use.value) is type(node.value):
                uses.append((_rank(use, kind, depth), abs(use.line - node.lineno), use.value))
    chosen: dict[str | bytes, None] = {}
    for _, _, value in sorted(uses, key=lambda u: (u[0], u[1])):
        if value != node.value and len(chosen) < MAX_STRINGS:
            chosen.setdefault(value)
    return list(chosen)


def _rank(use: StringUse, kind: str, depth: int) -> int:
    return 1 + depth + (0 if use.kind == kind else 3)


def _quote(value: str | bytes, like: str) -> str:
    text = repr(value)
    prefix = "b" if isinstance(value, bytes) else ""
    body = text[len(prefix) :]
    wants_double = like.lstrip("rRbBuU").startswith('"')
    if wants_double and body.startswith("'") and '"' not in body[1:-1]:
        body = '"' + body[1:-1].replace("\\'", "'") + '"'
    return prefix + body


def _is_docstring(statement: Statement, node: ast.AST) -> bool:
    return isinstance(statement.node, ast.Expr) and statement.node.value is node
