"""Where operators apply: the expression nodes of a line, and the small text helpers they share."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit, Kind, Splice, needs, precedence
from codeagent.agent.repair.source import SourceFile, Statement

_SHORT = 48
MAX_NODES = 400
"""Expression nodes per statement and line: more is generated code, not a one-token bug."""


def nodes_on(file: SourceFile, line: int) -> Iterator[tuple[ast.AST, ast.AST, Statement]]:
    """(node, parent, statement) for the expression nodes of every statement header on ``line``.

    Nodes of a multi-line statement are all yielded; operators keep those whose changed token
    lies on ``line`` (see :func:`on_line`).
    """
    for statement in file.statements_at(line):
        count = 0
        for node, parent in file.expressions(statement):
            first, last = getattr(node, "lineno", line), getattr(node, "end_lineno", line)
            if first <= line <= last:
                yield node, parent, statement
                count += 1
                if count == MAX_NODES:
                    break


def on_line(file: SourceFile, offset: int, line: int) -> bool:
    return file.line_of(offset) == line


def starts_on(file: SourceFile, node: ast.AST, line: int) -> bool:
    return getattr(node, "lineno", None) == line


def replace(file: SourceFile, node: ast.AST, parent: ast.AST, text: str) -> Splice:
    """A splice replacing the whole of expression ``node`` (a child of ``parent``) by ``text``."""
    target = isinstance(getattr(node, "ctx", None), ast.Store | ast.Del)
    return Splice(file.start(node), file.end(node), text, Kind.EXPR, needs(parent, node), target)


def edit(
    operator: str,
    splice: Splice,
    before: str,
    after: str,
    site: int,
    *,
    weight: float = 1.0,
    site_weight: float = 1.0,
) -> Edit:
    summary = f"`{short(before)}` -> `{short(after)}`"
    return Edit((splice,), operator, summary, site, weight, site_weight)


def short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHORT else flat[: _SHORT - 3] + "..."


def operand(text: str, node: ast.AST, least: int) -> str:
    """``text`` (the source of ``node``) parenthesised if it binds less tightly than ``least``."""
    return text if precedence(node, text) >= least else "(" + text + ")"


_COMMENT = r"(?P<comment>#[^\r\n]*)"


def find_token(file: SourceFile, start: int, end: int, pattern: str) -> tuple[int, int] | None:
    """The first match of ``pattern`` in ``text[start:end]`` outside comments, as offsets.

    Used for operator tokens, which ``ast`` does not place: the gap between two operands holds
    only the operator, parentheses, whitespace, line continuations and comments.
    """
    regex = _compiled(pattern)
    for match in regex.finditer(file.text, start, end):
        if match.group("comment") is None:
            return match.start("token"), match.end("token")
    return None


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    regex = _CACHE.get(pattern)
    if regex is None:
        regex = re.compile(f"{_COMMENT}|(?P<token>{pattern})")
        _CACHE[pattern] = regex
    return regex


def is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def call_name(node: ast.AST) -> str | None:
    """The called name of ``f(...)`` or ``x.f(...)``."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None
