"""Missing None/empty guards: ``if x is None: return <default>``, a skipped statement, ``x or []``.

The strategies are NPEfix's (Durieux et al. 2017) for null dereferences: return early with a
default taken from the function's other returns (or its input unchanged), skip the statement,
``continue`` the loop, or substitute a default value for the variable. "Missing null check" and
"conditional block addition" are among the most frequent repair patterns of Defects4J (Sobreira
et al. 2018); in Python the same bug surfaces as ``TypeError``/``AttributeError`` on ``None``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit, Kind, Splice
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import replace, short
from codeagent.agent.repair.source import FunctionNode, SourceFile, Statement
from codeagent.agent.repair.subjects import Subject, subjects

_EXPOSURE = (1.0, 0.7, 0.5)
"""Site weight of a subject by rank: dereferenced, operand, argument."""
MAX_DEFAULTS = 3
MAX_LITERAL = 30
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def none_guard(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """Before the statement on ``line``: ``if x is None: return <default>`` (or ``continue``,
    or ``if not x``), or the statement wrapped in ``if x is not None:``."""
    for statement in file.statements_at(line):
        node = statement.node
        if (
            not isinstance(node, ast.stmt)
            or isinstance(node, _COMPOUND)
            or not file.starts_line(node)
        ):
            continue
        if file.text.startswith("elif", file.start(node)):
            continue
        indent, unit, nl = file.indent(node.lineno), _unit(file, statement), file.newline
        exits = _exits(file, statement)
        for subject in subjects(file, statement, line):
            if subject.inner:
                continue
            site = file.start(subject.node)
            for condition, weight in (
                (f"{subject.text} is None", 1.0),
                (f"not {subject.text}", 0.6),
            ):
                for exit_, exit_weight in exits:
                    block = f"{indent}if {condition}:{nl}{indent}{unit}{exit_}{nl}"
                    at = file.line_start(node.lineno)
                    summary = f"insert `if {short(condition)}: {short(exit_)}`"
                    splice = Splice(at, at, block, Kind.BLOCK)
                    yield Edit(
                        (splice,),
                        "none_guard",
                        summary,
                        site,
                        weight * exit_weight,
                        _EXPOSURE[subject.rank],
                    )
            yield from _wraps(file, statement, subject, indent, unit)


def or_default(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``x`` -> ``x or <empty>`` where ``x`` is used as a sequence, mapping, string or number."""
    for statement in file.statements_at(line):
        for subject in subjects(file, statement, line):
            text = f"{subject.text} or {subject.default}"
            splice = replace(file, subject.node, subject.parent, text)
            summary = f"`{short(subject.text)}` -> `{short(text)}`"
            yield Edit(
                (splice,),
                "or_default",
                summary,
                file.start(subject.node),
                1.0,
                _EXPOSURE[subject.rank],
            )


def _exits(file: SourceFile, statement: Statement) -> list[tuple[str, float]]:
    exits: list[tuple[str, float]] = []
    if statement.function is not None:
        exits += [
            (f"return {d}".rstrip(), 1 / (1 + r))
            for r, d in enumerate(defaults(file, statement.function))
        ]
    if statement.in_loop:
        exits.append(("continue", 0.8))
    return exits


def defaults(file: SourceFile, function: FunctionNode) -> list[str]:
    """What an early return should return, from the function's other returns: the empty value
    of their type, a parameter returned unchanged, or None; ``""`` (a bare return) when the
    function returns no value."""
    key = ("defaults", id(function))
    found = file.cache.get(key)
    if isinstance(found, list):
        return found
    params = {
        a.arg for a in [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    }
    counts: dict[str, float] = {}
    generator = False
    returned: list[ast.expr] = []
    initial: dict[str, ast.expr] = {}  # a local's first assigned value: `total = 0` -> `0`
    for node in _own_nodes(function):
        if isinstance(node, ast.Yield | ast.YieldFrom):
            generator = True
        elif isinstance(node, ast.Return) and node.value is not None:
            returned.append(node.value)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name not in params and (name not in initial or node.lineno < initial[name].lineno):
                initial[name] = node.value
    for value in returned:
        if _literal(value):  # a sentinel the function already returns: `return -1`
            text = file.segment(value)
            counts[text] = counts.get(text, 0.0) + 1.0
        origin = initial.get(value.id, value) if isinstance(value, ast.Name) else value
        empty = _empty_like(origin, params)
        if empty is not None:
            counts[empty] = counts.get(empty, 0.0) + 0.5
    if generator or not returned:
        result = [""]
    else:
        result = sorted(counts, key=lambda v: -counts[v])[:MAX_DEFAULTS]
        # NPEfix's "return an existing value": the input unchanged.
        first = next((p for p in _positional(function) if p not in result), None)
        result += [first] if first else []
        result += [] if "None" in result else ["None"]
    file.cache[key] = result
    return result


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if not isinstance(node, ast.Constant) or node.lineno != node.end_lineno:
        return False
    return not isinstance(node.value, str | bytes) or len(node.value) <= MAX_LITERAL


def _positional(function: FunctionNode) -> list[str]:
    names = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
    return [n for n in names if n not in {"self", "cls"}]


def _empty_like(value: ast.AST, params: set[str]) -> str | None:
    match value:
        case ast.Constant(value=None):
            return "None"
        case ast.Constant(value=bool()):
            return "False"
        case ast.Constant(value=int() | float()):
            return "0"
        case ast.Constant(value=str()) | ast.JoinedStr():
            return '""'
        case ast.Constant(value=bytes()):
            return 'b""'
        case ast.List() | ast.ListComp():
            return "[]"
        case ast.Dict() | ast.DictComp():
            return "{}"
        case ast.Set() | ast.SetComp():
            return "set()"
        case ast.Tuple():
            return "()"
        case ast.Compare() | ast.UnaryOp(op=ast.Not()):
            return "False"
        case ast.Name(id=name) if name in params:
            return name
        case _:
            return None


def _own_nodes(function: FunctionNode) -> Iterator[ast.AST]:
    """Nodes of the function's body, not of the functions and classes nested in it."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_COMPOUND, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _wraps(
    file: SourceFile, statement: Statement, subject: Subject, indent: str, unit: str
) -> Iterator[Edit]:
    node = statement.node
    if isinstance(
        node,
        ast.If
        | ast.For
        | ast.AsyncFor
        | ast.While
        | ast.With
        | ast.AsyncWith
        | ast.Try
        | ast.TryStar
        | ast.Match,
    ):
        return
    if node.lineno != node.end_lineno:  # type: ignore[union-attr]
        return  # re-indenting a multi-line statement could change a string's content
    rest = file.line_text(node.lineno)[file.end(node) - file.line_start(node.lineno) :]  # type: ignore[union-attr]
    if rest.strip() and not rest.strip().startswith("#"):
        return
    start = file.line_start(node.lineno)  # type: ignore[union-attr]
    body = file.line_text(node.lineno).lstrip(" \t")  # type: ignore[union-attr]
    end = start + len(file.line_text(node.lineno))  # type: ignore[union-attr]
    for condition, weight in ((f"{subject.text} is not None", 1.0), (subject.text, 0.6)):
        block = f"{indent}if {condition}:{file.newline}{indent}{unit}{body}"
        summary = f"wrap in `if {short(condition)}:`"
        splice = Splice(start, end, block, Kind.BLOCK)
        yield Edit(
            (splice,),
            "none_guard",
            summary,
            file.start(subject.node),
            weight,
            _EXPOSURE[subject.rank],
        )


def _unit(file: SourceFile, statement: Statement) -> str:
    """One level of indentation, as the enclosing function (or the file) writes it."""
    function = statement.function
    if function is not None and function.body:
        outer, inner = file.indent(function.lineno), file.indent(function.body[0].lineno)
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer) :]
    return "\t" if file.indent(statement.node.lineno).startswith("\t") else "    "  # type: ignore[union-attr]
