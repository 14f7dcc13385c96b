"""``Edit``: what an operator proposes, as splices of the file's text, and how one is checked.

An operator never rewrites a file: it names spans of the original text and what goes there.
Two kinds of splice keep the check cheap (a whole-file parse per candidate would cost more
than all the operators together):

- ``EXPR``: the span is exactly one expression node and the text its replacement. The new text
  must parse alone as an expression and differ from the old one as a tree; it is put in
  parentheses when its precedence is lower than its place in the parent needs (``a * b`` with
  ``b`` -> ``b + 1`` becomes ``a * (b + 1)``), so the rest of the file keeps its structure.
- ``BLOCK``: the text is whole statement lines (inserted before a statement, or replacing
  one); it must parse alone once dedented.
- ``TOKEN``: one token swapped for another of the same grammatical class (``+=`` for ``-=``),
  which is valid and a different tree by construction.
"""

from __future__ import annotations

import ast
import enum
import re
import textwrap
from dataclasses import dataclass

MAX_SPLICE = 5_000
"""Characters: longer expressions are not mutated (the check would cost more than it is worth)."""


class Kind(enum.Enum):
    EXPR = "expr"
    BLOCK = "block"
    TOKEN = "token"


@dataclass(frozen=True, slots=True)
class Splice:
    start: int
    end: int
    text: str
    kind: Kind = Kind.EXPR
    needs: int = 0
    """EXPR only: the least precedence the parent accepts here without parentheses."""
    target: bool = False
    """EXPR only: the span is assigned to (or deleted), so the text must stay a target."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One proposed change: its splices (non-overlapping), and how to show and rank it."""

    splices: tuple[Splice, ...]
    operator: str
    summary: str
    """What changes, without the line: ``` `<` -> `<=` ```."""
    site: int
    """Alternatives of one operator at one site share this (an offset); priors split among them."""
    weight: float = 1.0
    """Relative likelihood among the alternatives at the site."""
    site_weight: float = 1.0
    """Likelihood of the site against an ordinary one (1) of the same operator."""


# Python's precedence levels, lowest first (the grammar's order).
NAMED, LAMBDA, IFEXP, OR, AND, NOT, COMPARE, BITOR, BITXOR, BITAND = range(-1, 9)
SHIFT, ARITH, TERM, UNARY, POWER, AWAIT, ATOM = range(9, 16)
_BINOP = {
    ast.BitOr: BITOR,
    ast.BitXor: BITXOR,
    ast.BitAnd: BITAND,
    ast.LShift: SHIFT,
    ast.RShift: SHIFT,
    ast.Add: ARITH,
    ast.Sub: ARITH,
    ast.Mult: TERM,
    ast.Div: TERM,
    ast.FloorDiv: TERM,
    ast.Mod: TERM,
    ast.MatMult: TERM,
    ast.Pow: POWER,
}


def precedence(node: ast.AST, text: str = "(") -> int:
    """How tightly ``node`` binds; ``text`` is its source (a tuple binds tightly in parens)."""
    match node:
        case ast.NamedExpr():
            return NAMED
        case ast.Lambda():
            return LAMBDA
        case ast.IfExp():
            return IFEXP
        case ast.BoolOp(op=ast.Or()):
            return OR
        case ast.BoolOp():
            return AND
        case ast.UnaryOp(op=ast.Not()):
            return NOT
        case ast.UnaryOp():
            return UNARY
        case ast.Compare():
            return COMPARE
        case ast.BinOp(op=op):
            return _BINOP[type(op)]
        case ast.Await():
            return AWAIT
        case ast.Tuple() | ast.Starred() | ast.Yield() | ast.YieldFrom():
            return ATOM if text.lstrip().startswith("(") else NAMED
        case _:
            return ATOM


def needs(parent: ast.AST, node: ast.AST) -> int:
    """The least precedence ``node`` may have in ``parent`` without parentheses."""
    match parent:
        case ast.BinOp(op=ast.Pow(), left=left):
            return AWAIT if node is left else UNARY
        case ast.BinOp(op=op, left=left):
            level = _BINOP[type(op)]
            return level if node is left else level + 1
        case ast.UnaryOp(op=ast.Not()):
            return NOT
        case ast.UnaryOp():
            return UNARY
        case ast.BoolOp(op=ast.And()):
            return NOT
        case ast.BoolOp():
            return AND
        case ast.Compare():
            return BITOR
        case ast.IfExp(orelse=orelse):
            return IFEXP if node is orelse else OR
        case ast.Attribute() | ast.Subscript(value=_) if node is getattr(parent, "value", None):
            return ATOM
        case ast.Call(func=func) if node is func:
            return ATOM
        case ast.Await():
            return ATOM
        case ast.Starred():
            return BITOR
        case ast.Dict(keys=keys, values=values) if any(
            k is None and v is node for k, v in zip(keys, values, strict=True)
        ):
            return BITOR
        case ast.comprehension(iter=it) if node is it:
            return OR
        case ast.comprehension(ifs=ifs) if any(node is i for i in ifs):
            return OR
        case _:
            return LAMBDA


def same_tree(a: ast.AST, b: ast.AST) -> bool:
    """Equal as ``ast.dump`` without attributes would say, without recursing (deep trees)."""
    stack: list[tuple[object, object]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, ast.AST):
            if type(x) is not type(y):
                return False
            stack.extend((getattr(x, f, None), getattr(y, f, None)) for f in x._fields)
        elif isinstance(x, list):
            if not isinstance(y, list) or len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif x != y or type(x) is not type(y):
            return False
    return True


def parse_expr(text: str) -> ast.expr | None:
    """``text`` as one expression (parenthesised, so it may span lines), or None."""
    if len(text) > MAX_SPLICE:
        return None
    try:
        return ast.parse("(" + text + "\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def checked(splice: Splice, original: str) -> Splice | None:
    """The splice made safe to apply (parenthesised where needed), or None if it is not valid.

    ``original`` is the text the splice replaces.
    """
    if splice.kind is Kind.TOKEN:
        return splice
    if splice.kind is Kind.BLOCK:
        try:
            ast.parse(textwrap.dedent(splice.text))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return splice
    new = parse_expr(splice.text)
    old = parse_expr(original)
    if new is None or old is None or same_tree(new, old):
        return None
    if splice.target and not isinstance(new, _TARGETS):
        return None
    # Parentheses only where the parent needs them and the source had none around the old
    # expression (a lower-precedence old expression was already parenthesised in the source).
    if precedence(new, splice.text) < min(splice.needs, precedence(old, original)):
        return Splice(splice.start, splice.end, "(" + splice.text + ")")
    return splice


_TARGETS = (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Starred)
_TOKEN = re.compile(r"\w+|\S")


def size(old: str, new: str) -> int:
    """Tokens changed between two texts: the longer side once common ends are trimmed."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return max(1, len(a) - head - tail, len(b) - head - tail)


def apply(text: str, splices: tuple[Splice, ...]) -> str:
    """``text`` with the (non-overlapping) splices applied."""
    parts: list[str] = []
    position = 0
    for splice in sorted(splices, key=lambda s: s.start):
        parts += [text[position : splice.start], splice.text]
        position = splice.end
    parts.append(text[position:])
    return "".join(parts)


def first_change(text: str, splice: Splice) -> int:
    """The offset of the first character the splice really changes."""
    old = text[splice.start : splice.end]
    common = 0
    limit = min(len(old), len(splice.text))
    while common < limit and old[common] == splice.text[common]:
        common += 1
    return splice.start + common
