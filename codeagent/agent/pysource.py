"""Small reads of Python source for prompts: the function around a line, a test's own code,
numbered listings. Pure; a file that does not parse yields ``None``, never an exception."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Span:
    qualname: str
    """``func``, ``Class.method``, or ``<module>``."""
    start: int
    """First line (decorators included), 1-based."""
    end: int


@lru_cache(maxsize=64)
def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def enclosing(source: str, line: int) -> Span | None:
    """The innermost function (or method) containing ``line``; else its class; else ``None``."""
    tree = _tree(source)
    if tree is None:
        return None
    best: Span | None = None
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
            end = child.end_lineno or child.lineno
            name = f"{prefix}{child.name}"
            if start <= line <= end:
                if best is None or start >= best.start:
                    best = Span(name, start, end)
                stack.append((child, name + "."))
    return best


def function_of_node(source: str, nodeid: str) -> Span | None:
    """The function (or method) a pytest node id names, e.g. ``t.py::TestX::test_y[1-2]``."""
    parts = nodeid.split("::")[1:]
    if not parts:
        return None
    parts[-1] = parts[-1].split("[", 1)[0]
    tree = _tree(source)
    node: ast.AST | None = tree
    for name in parts:
        if node is None:
            return None
        node = next(
            (
                c
                for c in ast.iter_child_nodes(node)
                if isinstance(c, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and c.name == name
            ),
            None,
        )
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return Span(".".join(parts), start, node.end_lineno or node.lineno)


def numbered(source: str, start: int, end: int, *, mark: frozenset[int] = frozenset()) -> str:
    """Lines ``start``..``end`` with their numbers (``>`` before the marked ones)."""
    lines = source.splitlines()
    width = len(str(end))
    return "\n".join(
        f"{'>' if n in mark else ' '}{n:>{width}} {lines[n - 1]}"
        for n in range(max(1, start), min(end, len(lines)) + 1)
    )


def excerpt(source: str, start: int, end: int) -> str:
    """Lines ``start``..``end`` as written."""
    return "\n".join(source.splitlines()[max(0, start - 1) : end])
