"""Conditions made more or less specific: a None/emptiness conjunct added, a conjunct dropped.

TSSB-3M's "More Specific If" (68K fixes) and "Less Specific If" (22K): the added conjunct is
most often a check that a value used in the condition is set (``x is not None and …``,
``x and len(x) > 0``); the dropped one is any operand of an ``and``/``or``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import NOT, Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import edit, find_token, nodes_on, on_line, operand, replace
from codeagent.agent.repair.source import SourceFile
from codeagent.agent.repair.subjects import subjects

MAX_FLAGS = 3


def more_specific_if(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``if cond`` -> ``if x is not None and cond`` / ``if x and cond`` for ``x`` used in the
    condition (or in one comparison of an ``and``/``or``), or ``if cond and flag`` /
    ``… and flag is None`` for an optional parameter ``flag`` it does not use."""
    for statement in file.statements_at(line):
        candidates = {id(s.node): s for s in subjects(file, statement, line)}
        flags = _flags(statement.function)
        for node, parent in file.expressions(statement):
            if not _is_test(node, parent) or getattr(node, "lineno", None) is None:
                continue
            parts: list[tuple[ast.AST, ast.AST]] = [(node, parent)]
            if isinstance(node, ast.BoolOp):
                parts += [(v, node) for v in node.values if isinstance(v, ast.Compare)]
            for part, owner in parts:
                text = file.segment(part)
                inside = [candidates[id(n)] for n in _descendants(part) if id(n) in candidates]
                # `x and (a and b)` is `x and a and b`: no parentheses for a conjunction.
                conjunction = isinstance(part, ast.BoolOp) and isinstance(part.op, ast.And)
                body = text if conjunction else operand(text, part, NOT)
                for subject in inside:
                    for guard in (f"{subject.text} is not None", subject.text):
                        new = f"{guard} and {body}"
                        yield edit(
                            "more_specific_if",
                            replace(file, part, owner, new),
                            text,
                            new,
                            file.start(subject.node),
                        )
            if getattr(node, "lineno", None) != line:
                continue
            used = {n.id for n in _descendants(node) if isinstance(n, ast.Name)}
            text = file.segment(node)
            conjunction = isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And)
            body = text if conjunction else operand(text, node, NOT)
            for flag in (f for f in flags if f not in used):
                for extra in (flag, f"{flag} is None", f"{flag} is not None", f"not {flag}"):
                    new = f"{body} and {extra}"
                    splice = replace(file, node, parent, new)
                    yield edit(
                        "more_specific_if",
                        splice,
                        text,
                        new,
                        file.start(node),
                        weight=1.0,
                        site_weight=0.25,
                    )


def _flags(function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> list[str]:
    """Parameters defaulting to None, True or False: options a condition may have to respect."""
    if function is None:
        return []
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    pairs = [*zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True)]
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
    return [
        p.arg for p, d in pairs if isinstance(d, ast.Constant) and d.value in (None, True, False)
    ][:MAX_FLAGS]


def less_specific_if(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``a and b`` -> ``a`` / ``b`` (and likewise for ``or``): one operand dropped."""
    for node, parent, _ in nodes_on(file, line):
        if not isinstance(node, ast.BoolOp):
            continue
        symbol = r"\band\b" if isinstance(node.op, ast.And) else r"\bor\b"
        tokens = []
        for left, right in zip(node.values, node.values[1:], strict=False):
            token = find_token(file, file.end(left), file.start(right), symbol)
            if token is None:
                break
            tokens.append(token)
        else:
            yield from _drops(file, line, node, parent, tokens)


def _drops(
    file: SourceFile, line: int, node: ast.BoolOp, parent: ast.AST, tokens: list[tuple[int, int]]
) -> Iterator[Edit]:
    start, end = file.start(node), file.end(node)
    text = file.text[start:end]
    # The operands' extents, with their own parentheses: the text between the tokens.
    bounds = [start, *(t for token in tokens for t in token), end]
    extents = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(len(node.values))]
    for i, value in enumerate(node.values):
        if not on_line(file, file.start(value), line):
            continue
        if i < len(extents) - 1:
            cut = (
                _skip_space(file, extents[i][0], forward=True),
                _skip_space(file, extents[i + 1][0], forward=True),
            )
        else:
            cut = (_skip_space(file, extents[i - 1][1], forward=False), extents[i][1])
        new = text[: cut[0] - start] + text[cut[1] - start :]
        splice = replace(file, node, parent, new)
        yield edit("less_specific_if", splice, text, new, file.start(value))


def _skip_space(file: SourceFile, offset: int, *, forward: bool) -> int:
    if forward:
        while offset < len(file.text) and file.text[offset] in " \t":
            offset += 1
    else:
        while offset > 0 and file.text[offset - 1] in " \t":
            offset -= 1
    return offset


def _is_test(node: ast.AST, parent: ast.AST) -> bool:
    match parent:
        case ast.If(test=test) | ast.While(test=test) | ast.IfExp(test=test):
            return node is test
        case ast.comprehension(ifs=ifs):
            return any(node is condition for condition in ifs)
        case _:
            return False


def _descendants(node: ast.AST) -> Iterator[ast.AST]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(ast.iter_child_nodes(current))
