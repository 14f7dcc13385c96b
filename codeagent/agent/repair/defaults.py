"""The mutable default argument: ``def f(x=[])`` -> ``def f(x=None)`` + ``if x is None: x = []``.

The default is evaluated once and shared by every call, so state leaks between calls (pylint
W0102 ``dangerous-default-value``; the standard fix is the ``None`` sentinel).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit, Kind, Splice
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.scope import dotted
from codeagent.agent.repair.sites import replace, short
from codeagent.agent.repair.source import FunctionNode, SourceFile

_MUTABLE_CALLS = frozenset(
    {"list", "dict", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque"}
)


def mutable_default(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """For each mutable default of the function whose signature covers ``line``."""
    for statement in file.statements_at(line):
        function = statement.node
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body_start = _body_start(file, function)
        if body_start is None:
            continue
        at, indent = body_start
        for name, default in _defaults(function):
            if not _mutable(default):
                continue
            value = file.segment(default)
            nl, unit = file.newline, _unit(file, function, indent)
            block = f"{indent}if {name} is None:{nl}{indent}{unit}{name} = {value}{nl}"
            splices = (
                replace(file, default, function.args, "None"),
                Splice(at, at, block, Kind.BLOCK),
            )
            check = f"`if {name} is None: {name} = {short(value)}`"
            summary = f"`{name}={short(value)}` -> `{name}=None` + {check}"
            yield Edit(splices, "mutable_default", summary, file.start(default))


def _defaults(function: FunctionNode) -> Iterator[tuple[str, ast.expr]]:
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    yield from zip(
        (p.arg for p in positional[len(positional) - len(a.defaults) :]), a.defaults, strict=True
    )
    for param, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        if default is not None:
            yield param.arg, default


def _mutable(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        return name is not None and name.rsplit(".", 1)[-1] in _MUTABLE_CALLS
    return False


def _body_start(file: SourceFile, function: FunctionNode) -> tuple[int, str] | None:
    """Where the sentinel check goes (after a docstring) and its indentation; None when the
    body shares the ``def`` line or is only a docstring."""
    body = function.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        if len(body) == 1:
            return None
        first = body[1]
    lineno = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    if lineno <= function.lineno or (lineno == first.lineno and not file.starts_line(first)):
        return None
    return file.line_start(lineno), file.indent(lineno)


def _unit(file: SourceFile, function: FunctionNode, indent: str) -> str:
    outer = file.indent(function.lineno)
    if indent.startswith(outer) and len(indent) > len(outer):
        return indent[len(outer) :]
    return "\t" if indent.startswith("\t") else "    "
