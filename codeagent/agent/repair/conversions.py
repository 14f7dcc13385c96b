"""Type conversions: one removed (``str(label)`` -> ``label``) or, on a ``TypeError``, added.

TSSB-3M's "Add Function Around Expression" (117K fixes) is mostly a conversion or a ``len``
around a value; PyTER (Oh & Oh 2022) repairs Python ``TypeError``s the same way, by casting the
operand the error names. Adding a conversion anywhere would flood the candidates, so it is only
offered when the failure is a ``TypeError``; removing one is always offered.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codeagent.agent.repair.edits import Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.sites import edit, nodes_on, replace, starts_on
from codeagent.agent.repair.source import SourceFile
from codeagent.agent.repair.subjects import subjects

_CONVERSIONS = frozenset({"str", "int", "float", "bool", "list", "tuple", "set", "repr", "sorted"})
_ADDED = (("str", 1.0), ("int", 1.0), ("float", 0.5), ("list", 0.5))


def unwrap_conversion(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``str(x)`` -> ``x`` for the builtin conversions."""
    for node, parent, _ in nodes_on(file, line):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _CONVERSIONS
            and len(node.args) == 1
            and not node.keywords
            and not isinstance(node.args[0], ast.Starred)
            and starts_on(file, node, line)
        ):
            continue
        inner = file.segment(node.args[0])
        old = file.segment(node)
        yield edit(
            "unwrap_conversion", replace(file, node, parent, inner), old, inner, file.start(node)
        )


def add_conversion(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """On a ``TypeError``: ``x`` -> ``str(x)`` / ``int(x)`` / … for operands and arguments."""
    if "TypeError" not in hint.exceptions:
        return
    for statement in file.statements_at(line):
        for subject in subjects(file, statement, line):
            if subject.rank == 0:
                continue  # dereferenced (x.a, x[i]): a conversion would not be the fix
            for name, weight in _ADDED:
                text = f"{name}({subject.text})"
                splice = replace(file, subject.node, subject.parent, text)
                yield edit(
                    "add_conversion",
                    splice,
                    subject.text,
                    text,
                    file.start(subject.node),
                    weight=weight,
                )
