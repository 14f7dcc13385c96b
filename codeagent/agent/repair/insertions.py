"""Missing statements in loops: an accumulator never reset, a last item never flushed.

GenProg's insertion (Le Goues et al., TSE 2012) copies a statement of the program to a
suspicious place; its search space is every statement, which is why later tools choose the
ingredient by context (CapGen, Wen et al. ICSE 2018; SimFix, Jiang et al. ISSTA 2018). The two
insertions here pick their ingredients by the data flow of the loop around the suspect line,
for the two missing-statement bugs of accumulating loops that fix studies keep finding
(Sobreira et al. 2018: "missing" statements are most of the multi-line fixes of Defects4J):

- ``reset_in_loop``: a variable initialised before the loop (``x = []``, ``x = 0``, ``x =
  None``, ``x = {}``, ``x = set()``) and used in it is initialised again next to the suspect
  statement: the accumulator a new group of items must start afresh.
- ``flush_after_loop``: the statement that hands an accumulated group on inside the loop (the
  suspect statement, or the small ``if`` that guards it) is copied after the loop: the last
  group, which no next iteration flushes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit, Kind, Splice
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import short
from codeagent.agent.repair.source import FunctionNode, SourceFile

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)
_EMPTY_CALLS = frozenset({"list", "dict", "set", "tuple", "str", "int", "float", "bytearray"})


def reset_in_loop(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """Before and after the statement on ``line`` (in a loop): ``x = <its initial value>``."""
    found = _in_loop(file, line)
    if found is None:
        return
    function, loop, statement = found
    used = _names_in(loop)
    grown = _accumulators(loop)
    for init in _initialisers(function, loop):
        name = _target(init)
        if name is None or name not in used:
            continue
        text = _lines(file, init)
        kind = 1.0 if name in grown else 0.3  # an accumulator, not a value set on each pass
        for at, where, weight in (
            (_line_after(file, statement), "after", kind),
            (file.line_start(statement.lineno), "before", 0.8 * kind),
        ):
            block = _indented(text, file.indent(statement.lineno), file.newline)
            yield Edit(
                (Splice(at, at, block, Kind.BLOCK),),
                "reset_in_loop",
                f"insert `{short(text.strip())}` {where} line {statement.lineno}",
                file.start(statement),
                weight,
            )


def flush_after_loop(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """After the loop holding ``line``: a copy of the statement on it, or of the ``if`` (one
    simple statement in its body) that guards it."""
    found = _in_loop(file, line)
    if found is None:
        return
    _, loop, statement = found
    handing_on = isinstance(statement, ast.AugAssign) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    )
    if not handing_on:
        return
    ingredients: list[tuple[ast.stmt, float]] = [(statement, 0.6)]
    guard = _guarding_if(loop, statement)
    if guard is not None:
        ingredients.insert(0, (guard, 1.0))
    at = _line_after(file, loop)
    for ingredient, weight in ingredients:
        text = _lines(file, ingredient)
        block = _indented(text, file.indent(loop.lineno), file.newline)
        if at == len(file.text) and not file.text.endswith(("\n", "\r")):
            block = file.newline + block
        first = text.strip().splitlines()[0]
        yield Edit(
            (Splice(at, at, block, Kind.BLOCK),),
            "flush_after_loop",
            f"copy `{short(first)}` after the loop of line {loop.lineno}",
            file.start(loop),
            weight,
        )


def _in_loop(file: SourceFile, line: int) -> tuple[FunctionNode, ast.stmt, ast.stmt] | None:
    """(function, innermost loop, the simple statement on ``line``) when there is one."""
    for statement in file.statements_at(line):
        node = statement.node
        function = statement.function
        if function is None or not isinstance(node, _SIMPLE) or not file.starts_line(node):
            continue
        loop = _innermost_loop(function, node)
        if loop is not None:
            return function, loop, node
    return None


def _innermost_loop(function: FunctionNode, target: ast.stmt) -> ast.stmt | None:
    best: ast.stmt | None = None
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, _LOOPS) and _contains(node, target):
            best = node
            stack = [*node.body]
            continue
        if isinstance(node, ast.stmt) and _contains(node, target):
            stack.extend(ast.iter_child_nodes(node))
    return best


def _contains(node: ast.stmt, target: ast.stmt) -> bool:
    return bool(node.lineno <= target.lineno <= (node.end_lineno or node.lineno)) and (
        node is not target
    )


def _initialisers(function: FunctionNode, loop: ast.stmt) -> Iterator[ast.stmt]:
    """Statements of the function body before the loop that give a name a fresh value."""
    for node in function.body:
        if node.lineno >= loop.lineno:
            return
        if isinstance(node, ast.Assign | ast.AnnAssign) and _fresh(node.value):
            yield node


def _fresh(value: ast.expr | None) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.Tuple):
        return not getattr(value, "elts", None) and not getattr(value, "keys", None)
    if isinstance(value, ast.Constant):
        return value.value in (None, 0, 0.0, "", b"", False)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in _EMPTY_CALLS and not value.args and not value.keywords
    return False


def _target(node: ast.stmt) -> str | None:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    if len(targets) == 1 and isinstance(targets[0], ast.Name):
        return targets[0].id
    return None


def _accumulators(loop: ast.stmt) -> set[str]:
    """Names the loop grows: ``x.append(...)`` (any method call), ``x += ...``, ``x[k] = ...``."""
    grown: set[str] = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if isinstance(node.func.value, ast.Name):
                grown.add(node.func.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            grown.add(node.target.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    grown.add(target.value.id)
    return grown


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _guarding_if(loop: ast.stmt, statement: ast.stmt) -> ast.If | None:
    """The ``if`` in the loop whose whole body is ``statement`` and whose test is one line."""
    for node in ast.walk(loop):
        if (
            isinstance(node, ast.If)
            and len(node.body) == 1
            and node.body[0] is statement
            and not node.orelse
            and node.test.lineno == (node.test.end_lineno or node.test.lineno)
        ):
            return node
    return None


def _lines(file: SourceFile, node: ast.stmt) -> str:
    """The statement's whole lines, dedented to its own indentation."""
    end = node.end_lineno or node.lineno
    lines = [file.line_text(n) for n in range(node.lineno, end + 1)]
    cut = len(file.indent(node.lineno))
    return "\n".join(text[cut:] if text[:cut].strip() == "" else text for text in lines)


def _indented(text: str, indent: str, newline: str) -> str:
    return "".join(f"{indent}{line}{newline}" for line in text.splitlines())


def _line_after(file: SourceFile, node: ast.stmt) -> int:
    end = node.end_lineno or node.lineno
    return file.line_start(end + 1) if end < file.line_count else len(file.text)
