"""Operator swaps: comparison, arithmetic (also augmented), ``and``/``or``, negation, booleans.

The alternatives of each operator are weighted by how often real fixes make that change: the
boundary pairs (``<``/``<=``, ``>``/``>=``), ``==``/``!=``, ``is``/``is not``, ``in``/``not in``
and ``+``/``-`` dominate the "Change Binary Operator" fixes of ManySStuBs4J and TSSB-3M; the
others are kept as rarer alternatives.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from codeagent.agent.repair.edits import NOT, Edit, Kind, Splice
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import (
    call_name,
    edit,
    find_token,
    is_string,
    nodes_on,
    on_line,
    operand,
    replace,
    starts_on,
)
from codeagent.agent.repair.source import SourceFile

Alternatives = tuple[tuple[str, float], ...]

_COMPARE: dict[type[ast.cmpop], tuple[str, Alternatives]] = {
    ast.Lt: ("<", (("<=", 3), (">", 1), (">=", 1), ("!=", 0.5), ("==", 0.5))),
    ast.LtE: ("<=", (("<", 3), (">=", 1), (">", 1), ("==", 0.5))),
    ast.Gt: (">", ((">=", 3), ("<", 1), ("<=", 1), ("!=", 0.5), ("==", 0.5))),
    ast.GtE: (">=", ((">", 3), ("<=", 1), ("<", 1), ("==", 0.5))),
    ast.Eq: ("==", (("!=", 3), ("is", 0.5), ("in", 0.5), ("<=", 0.5), (">=", 0.5))),
    ast.NotEq: ("!=", (("==", 3), ("is not", 0.5), ("not in", 0.5), ("<", 0.5), (">", 0.5))),
    ast.Is: ("is", (("is not", 3), ("==", 1))),
    ast.IsNot: ("is not", (("is", 3), ("!=", 1))),
    ast.In: ("in", (("not in", 3), ("==", 0.5))),
    ast.NotIn: ("not in", (("in", 3), ("!=", 0.5))),
}
_COMPARE_TOKEN = r"<=|>=|==|!=|<|>|\bis\s+not\b|\bis\b|\bnot\s+in\b|\bin\b"

_ARITHMETIC: dict[type[ast.operator], tuple[str, Alternatives]] = {
    ast.Add: ("+", (("-", 3), ("*", 1))),
    ast.Sub: ("-", (("+", 3), ("*", 0.5))),
    ast.Mult: ("*", (("/", 2), ("//", 1), ("+", 1), ("**", 1))),
    ast.Div: ("/", (("//", 3), ("*", 2), ("%", 0.5))),
    ast.FloorDiv: ("//", (("/", 3), ("%", 1), ("*", 1))),
    ast.Mod: ("%", (("//", 1), ("/", 0.5))),
    ast.Pow: ("**", (("*", 2),)),
    ast.LShift: ("<<", ((">>", 1),)),
    ast.RShift: (">>", (("<<", 1),)),
    ast.BitAnd: ("&", (("|", 2), ("^", 0.5))),
    ast.BitOr: ("|", (("&", 2), ("^", 0.5))),
    ast.BitXor: ("^", (("|", 1), ("&", 1))),
}
_ARITHMETIC_TOKEN = r"\*\*|//|<<|>>|[-+*/%@&|^]"
_NOT_LITERAL_FOR_IS = (ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr)
_BOOLISH_PREFIXES = ("is", "has", "can", "should", "startswith", "endswith", "exists", "match")
_BOOLISH = frozenset({"isinstance", "issubclass", "hasattr", "callable", "any", "all", "bool"})


def comparison(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``a < b`` -> ``a <= b`` (and the other alternatives of each comparison operator)."""
    for node, parent, _ in nodes_on(file, line):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            token = find_token(file, file.end(left), file.start(right), _COMPARE_TOKEN)
            if token is not None and on_line(file, token[0], line):
                symbol, alternatives = _COMPARE[type(op)]
                literal = _literal_operand(left) or _literal_operand(right)
                for new, weight in alternatives:
                    if literal and new.startswith("is"):
                        continue  # `x is 1` is a SyntaxWarning and never the fix
                    text = _swap_token(file, node, token, new)
                    splice = replace(file, node, parent, text)
                    yield edit("comparison", splice, symbol, new, token[0], weight=weight)
            left = right


def arithmetic(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``a + b`` -> ``a - b``, ``x += 1`` -> ``x -= 1`` (not on string formatting/concatenation)."""
    for node, parent, _ in nodes_on(file, line):
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            if is_string(node.left) or is_string(node.right) or _sequence(node):
                continue
            gap = (file.end(node.left), file.start(node.right))
            yield from _arithmetic_at(file, line, node, parent, gap)
    for statement in file.statements_at(line):
        node = statement.node
        if isinstance(node, ast.AugAssign) and type(node.op) in _ARITHMETIC:
            gap = (file.end(node.target), file.start(node.value))
            yield from _arithmetic_at(file, line, node, node, gap)


def _arithmetic_at(
    file: SourceFile,
    line: int,
    node: ast.BinOp | ast.AugAssign,
    parent: ast.AST,
    gap: tuple[int, int],
) -> Iterator[Edit]:
    augmented = isinstance(node, ast.AugAssign)
    suffix = "=" if augmented else ""
    token = find_token(file, *gap, f"(?:{_ARITHMETIC_TOKEN}){suffix}")
    if token is None or not on_line(file, token[0], line):
        return
    symbol, alternatives = _ARITHMETIC[type(node.op)]
    left = node.target if isinstance(node, ast.AugAssign) else node.left
    right = node.value if isinstance(node, ast.AugAssign) else node.right
    for new, weight in alternatives:
        if _identity(new, left, right):
            continue  # `n - 1` -> `n * 1` is `n`: the edit that drops the operand says it plainly
        if augmented:
            # A statement is no expression to reparse; swapping one augmented-assignment
            # token for another is valid by construction.
            splice = Splice(token[0], token[1], new + suffix, Kind.TOKEN)
        else:
            splice = replace(file, node, parent, _swap_token(file, node, token, new))
        yield edit("arithmetic", splice, symbol + suffix, new + suffix, token[0], weight=weight)


_IDENTITY_RIGHT = {"*": 1, "/": 1, "//": 1, "**": 1, "+": 0, "-": 0, "<<": 0, ">>": 0}
_IDENTITY_LEFT = {"*": 1, "+": 0}


def _identity(op: str, left: ast.AST, right: ast.AST) -> bool:
    """Whether ``left op right`` is just one of its operands (``x * 1``, ``0 + x``)."""

    def number(node: ast.AST, value: int) -> bool:
        return (
            isinstance(node, ast.Constant)
            and type(node.value) in (int, float)
            and node.value == value
        )

    return (op in _IDENTITY_RIGHT and number(right, _IDENTITY_RIGHT[op])) or (
        op in _IDENTITY_LEFT and number(left, _IDENTITY_LEFT[op])
    )


def boolean_operator(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``a and b`` -> ``a or b``, one candidate per ``and``/``or`` token."""
    for node, parent, _ in nodes_on(file, line):
        if not isinstance(node, ast.BoolOp):
            continue
        symbol, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in itertools.pairwise(node.values):
            token = find_token(file, file.end(left), file.start(right), rf"\b{symbol}\b")
            if token is not None and on_line(file, token[0], line):
                text = _swap_token(file, node, token, new)
                yield edit(
                    "boolean_operator", replace(file, node, parent, text), symbol, new, token[0]
                )


def negation(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """A condition negated or un-negated: ``if x`` -> ``if not x``, ``not x`` -> ``x``,
    ``-x`` -> ``x`` (comparisons are negated by the comparison operator instead)."""
    for node, parent, _ in nodes_on(file, line):
        if isinstance(node, ast.UnaryOp) and starts_on(file, node, line):
            if isinstance(node.op, ast.Not | ast.USub) and not isinstance(
                node.operand, ast.Constant
            ):
                segment = file.segment(node)
                inner = segment[1:] if isinstance(node.op, ast.USub) else segment[3:]
                text = inner.lstrip(" \t")
                splice = replace(file, node, parent, text)
                yield edit("negation", splice, segment, text, file.start(node))
        elif _is_condition(node, parent) and starts_on(file, node, line):
            segment = file.segment(node)
            text = "not " + operand(segment, node, NOT)
            yield edit(
                "negation", replace(file, node, parent, text), segment, text, file.start(node)
            )


def boolean_literal(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``True`` <-> ``False``."""
    for node, parent, _ in nodes_on(file, line):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, bool)
            and starts_on(file, node, line)
        ):
            old, new = ("True", "False") if node.value else ("False", "True")
            yield edit(
                "boolean_literal", replace(file, node, parent, new), old, new, file.start(node)
            )


def _is_condition(node: ast.AST, parent: ast.AST) -> bool:
    if isinstance(node, ast.Compare | ast.UnaryOp | ast.Constant | ast.NamedExpr):
        return False
    match parent:
        case (
            ast.If(test=test) | ast.While(test=test) | ast.Assert(test=test) | ast.IfExp(test=test)
        ):
            return node is test
        case ast.comprehension(ifs=ifs):
            return any(node is condition for condition in ifs)
        case ast.BoolOp(op=ast.And()):
            return True
        case ast.Return(value=value):
            return node is value and _boolish(node)
        case _:
            return False


def _boolish(node: ast.AST) -> bool:
    if isinstance(node, ast.BoolOp):
        return True
    name = call_name(node)
    return name is not None and (name in _BOOLISH or name.startswith(_BOOLISH_PREFIXES))


def _swap_token(file: SourceFile, node: ast.AST, token: tuple[int, int], new: str) -> str:
    start = file.start(node)
    text = file.segment(node)
    return text[: token[0] - start] + new + text[token[1] - start :]


def _literal_operand(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):  # by identity: `0 == False`, yet `x is 0` warns
        return not any(node.value is singleton for singleton in (None, True, False, ...))
    return isinstance(node, _NOT_LITERAL_FOR_IS)


def _sequence(node: ast.BinOp) -> bool:
    """An operand is a literal list/tuple or comprehension: ``+`` there concatenates."""
    kinds = (ast.List, ast.Tuple, ast.ListComp, ast.Dict, ast.Set)
    return isinstance(node.left, kinds) or isinstance(node.right, kinds)
