"""Swapped operands (``a - b`` -> ``b - a``) and swapped arguments (``f(a, b)`` -> ``f(b, a)``).

ManySStuBs4J and TSSB-3M call the second "Same Function Swap Args"; swapped elements of a tuple
(``(value, type)`` for ``(type, value)``) are the same mistake in a display, so they are here too.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import edit, find_token, is_string, nodes_on, on_line, replace
from codeagent.agent.repair.source import SourceFile

_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)
_TOKENS = {
    ast.Add: r"\+",
    ast.Sub: "-",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: r"\*\*",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
_MEMBERSHIP = r"\bnot\s+in\b|\bin\b"


def swap_operands(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """Operands of a non-commutative operator exchanged: ``a - b``, ``x in y``, ``s + "/"``."""
    for node, parent, _ in nodes_on(file, line):
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Mod) and is_string(node.left):
                continue  # printf-style formatting
            strings = is_string(node.left) or is_string(node.right)
            numbers = not strings and (
                isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
            )
            if isinstance(node.op, ast.Add):
                if numbers:
                    continue
                # `+` concatenates strings and lists in order, but on numbers the swap changes
                # nothing: an `a + b` of unknown types is a weak site.
                site_weight = 1.0 if strings else 0.3
            elif isinstance(node.op, _NON_COMMUTATIVE):
                site_weight = 0.3 if numbers else 1.0
            else:
                continue
            pattern = _TOKENS[type(node.op)]
            left, right = node.left, node.right
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            if not isinstance(node.ops[0], ast.In | ast.NotIn):
                continue
            pattern = _MEMBERSHIP
            left, right = node.left, node.comparators[0]
            site_weight = 1.0
        else:
            continue
        token = find_token(file, file.end(left), file.start(right), pattern)
        if token is None or not on_line(file, token[0], line):
            continue
        start, end = file.start(node), file.end(node)
        head = file.text[start : token[0]].rstrip()
        tail = file.text[token[1] : end].lstrip()
        middle = file.text[start + len(head) : end - len(tail)]
        text = tail + middle + head
        splice = replace(file, node, parent, text)
        old = file.segment(node)
        yield edit("swap_operands", splice, old, text, token[0], site_weight=site_weight)


def swap_arguments(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """Adjacent positional arguments of a call, or elements of a tuple, exchanged."""
    for node, parent, _ in nodes_on(file, line):
        if isinstance(node, ast.Call):
            items, weight = node.args, 1.0
        elif isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load):
            items, weight = node.elts, 0.5
        else:
            continue
        for first, second in itertools.pairwise(items):
            if isinstance(first, ast.Starred) or isinstance(second, ast.Starred):
                continue
            if line not in (first.lineno, second.lineno):
                continue
            a, b = file.segment(first), file.segment(second)
            if a == b:
                continue
            start = file.start(node)
            text = file.segment(node)
            s1, e1 = file.start(first) - start, file.end(first) - start
            s2, e2 = file.start(second) - start, file.end(second) - start
            new = text[:s1] + b + text[e1:s2] + a + text[e2:]
            summary_old, summary_new = f"{a}, {b}", f"{b}, {a}"
            splice = replace(file, node, parent, new)
            yield edit(
                "swap_arguments", splice, summary_old, summary_new, file.start(first), weight=weight
            )
