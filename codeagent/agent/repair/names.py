"""Names replaced by names in scope: variables, attributes, functions and sibling methods.

These are the most frequent single-statement fixes of TSSB-3M: "Change Identifier Used" (237K),
"Wrong Function Name" (134K) and "Change Attribute Used" (104K). Donors are ranked by the names
the failure mentions, then by distance to the site (fix ingredients are found close by).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from codeagent.agent.repair.edits import Edit
from codeagent.agent.repair.hint import Hint
from codeagent.agent.repair.scope import (
    attributes,
    dotted,
    functions,
    is_module_level_name,
    variables,
)
from codeagent.agent.repair.sites import edit, find_token, nodes_on, on_line, replace, starts_on
from codeagent.agent.repair.source import SourceFile

MAX_NAMES = 6
_IMPLICIT = frozenset({"self", "cls", "__class__"})
_BUILTIN_GROUPS = (
    ("max", "min"),
    ("any", "all"),
    ("sorted", "reversed", "list"),
    ("list", "tuple", "set"),
    ("str", "repr"),
    ("int", "round", "float"),
    ("isinstance", "issubclass"),
    ("map", "filter"),
    ("ord", "chr"),
    ("hex", "oct", "bin"),
)
_TWO_ARGUMENT_GROUPS = (("getattr", "hasattr"),)
_METHOD_GROUPS = (
    ("strip", "rstrip", "lstrip"),
    ("append", "extend", "appendleft"),
    ("pop", "popleft"),
    ("find", "rfind", "index", "rindex"),
    ("startswith", "endswith"),
    ("lower", "upper", "casefold"),
    ("title", "capitalize"),
    ("keys", "values", "items"),
    ("split", "rsplit"),
    ("partition", "rpartition"),
    ("ljust", "rjust", "center"),
    ("removeprefix", "removesuffix"),
    ("remove", "discard"),
    ("get", "pop", "setdefault"),
    ("add", "update"),
    ("union", "intersection", "difference", "symmetric_difference"),
    ("issubset", "issuperset"),
    ("search", "match", "fullmatch"),
    ("findall", "finditer"),
    ("read", "readline", "readlines"),
    ("write", "writelines"),
    ("encode", "decode"),
    ("isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum"),
    ("isupper", "islower"),
    ("floor", "ceil", "trunc"),
    ("min", "max"),
    ("argmin", "argmax"),
    ("basename", "dirname"),
    ("exists", "isfile", "isdir"),
    ("abspath", "realpath", "normpath"),
    ("copy", "deepcopy"),
    ("sort", "reverse"),
)


def _siblings(groups: tuple[tuple[str, ...], ...]) -> dict[str, tuple[str, ...]]:
    table: dict[str, dict[str, None]] = {}
    for group in groups:
        for name in group:
            table.setdefault(name, {}).update(dict.fromkeys(n for n in group if n != name))
    return {name: tuple(others) for name, others in table.items()}


_BUILTIN_SIBLINGS = _siblings(_BUILTIN_GROUPS)
_METHOD_SIBLINGS = _siblings(_METHOD_GROUPS)


def identifier(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """A variable replaced by another variable of the function (or module) used nearby."""
    for node, parent, statement in nodes_on(file, line):
        if (
            not isinstance(node, ast.Name)
            or node.id in _IMPLICIT
            or not starts_on(file, node, line)
        ):
            continue
        if isinstance(parent, ast.Call) and parent.func is node:
            continue  # function_name's
        names = variables(file, statement)
        if node.id not in names and is_module_level_name(file, node.id):
            continue  # a module, function, class or builtin: not a variable
        site_weight = 0.5 if isinstance(node.ctx, ast.Store) else 1.0
        for rank, donor in enumerate(_ranked(names, node.id, node.lineno, hint)):
            splice = replace(file, node, parent, donor)
            yield edit(
                "identifier",
                splice,
                node.id,
                donor,
                file.start(node),
                weight=1 / (1 + rank),
                site_weight=site_weight,
            )


def attribute(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``obj.a`` -> ``obj.b``, where ``b`` is used on ``obj`` (``self``: in the class) nearby."""
    for node, parent, statement in nodes_on(file, line):
        if not isinstance(node, ast.Attribute) or (
            isinstance(parent, ast.Call) and parent.func is node
        ):
            continue
        at = file.end(node) - len(node.attr)
        base = dotted(node.value)
        if base is None or not on_line(file, at, line):
            continue
        used = attributes(file, statement, base, called=False)
        site_weight = 0.5 if isinstance(node.ctx, ast.Store) else 1.0
        for rank, donor in enumerate(_ranked(used, node.attr, node.end_lineno or line, hint)):
            text = file.segment(node)[: at - file.start(node)] + donor
            splice = replace(file, node, parent, text)
            yield edit(
                "attribute",
                splice,
                node.attr,
                donor,
                at,
                weight=1 / (1 + rank),
                site_weight=site_weight,
            )


def function_name(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """A called function replaced by a builtin sibling (``max``/``min``, ``any``/``all``…) or by
    another function of the module (or method of the class) that accepts the same arguments."""
    for node, _, statement in nodes_on(file, line):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and starts_on(file, func, line):
            name, at = func.id, file.start(func)
            owner: ast.Module | ast.ClassDef = file.tree
        elif isinstance(func, ast.Attribute) and dotted(func.value) in {"self", "cls"}:
            at = file.end(func) - len(func.attr)
            if statement.cls is None or not on_line(file, at, line):
                continue
            name, owner = func.attr, statement.cls
        else:
            continue
        donors = [(n, 1.0) for n in _BUILTIN_SIBLINGS.get(name, ()) if isinstance(func, ast.Name)]
        if isinstance(func, ast.Name) and len(node.args) == 2:
            donors += [(n, 1.0) for g in _TWO_ARGUMENT_GROUPS if name in g for n in g if n != name]
        donors += [
            (n, 0.5 / (1 + r)) for r, n in enumerate(_similar_functions(file, owner, name, node))
        ]
        head = file.segment(func)[: at - file.start(func)]
        for donor, weight in donors:
            splice = replace(file, func, node, head + donor)
            yield edit("function_name", splice, name, donor, at, weight=weight)


def sibling_method(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``s.strip()`` -> ``s.rstrip()``, ``xs.append(y)`` -> ``xs.extend(y)``, and the like."""
    for node, _, _ in nodes_on(file, line):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        func = node.func
        at = file.end(func) - len(func.attr)
        if not on_line(file, at, line):
            continue
        head = file.segment(func)[: at - file.start(func)]
        for donor in _METHOD_SIBLINGS.get(func.attr, ()):
            splice = replace(file, func, node, head + donor)
            yield edit("sibling_method", splice, func.attr, donor, at)


def subscript_get(file: SourceFile, line: int, hint: Hint) -> Iterator[Edit]:
    """``d[k]`` -> ``d.get(k)`` and ``d.get(k)`` -> ``d[k]``."""
    for node, parent, _ in nodes_on(file, line):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if isinstance(node.slice, ast.Slice | ast.Tuple) or isinstance(
                node.value, ast.Constant
            ):
                continue
            bracket = find_token(file, file.end(node.value), file.start(node.slice), r"\[")
            if bracket is None or not on_line(file, bracket[0], line):
                continue
            head = file.text[file.start(node) : bracket[0]].rstrip()
            text = f"{head}.get({file.segment(node.slice)})"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and _is_plain_get(node)
        ):
            dot = find_token(file, file.end(node.func.value), file.end(node.func), r"\.")
            if dot is None or not on_line(file, dot[0], line):
                continue
            head = file.text[file.start(node) : dot[0]].rstrip()
            text = f"{head}[{file.segment(node.args[0])}]"
        else:
            continue
        old = file.segment(node)
        yield edit("subscript_get", replace(file, node, parent, text), old, text, file.start(node))


def _is_plain_get(node: ast.Call) -> bool:
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and len(node.args) == 1
        and not node.keywords
        and not isinstance(node.args[0], ast.Starred)
    )


def _ranked(used: Mapping[str, list[int]], current: str, line: int, hint: Hint) -> list[str]:
    """Donor names, those the failure mentions first, then the nearest, at most MAX_NAMES."""
    mentioned = set(hint.names)

    def key(name: str) -> tuple[bool, int, str]:
        return name not in mentioned, min(abs(at - line) for at in used[name]), name

    return sorted((n for n in used if n != current and not n.startswith("__")), key=key)[:MAX_NAMES]


def _similar_functions(
    file: SourceFile, owner: ast.Module | ast.ClassDef, name: str, call: ast.Call
) -> list[str]:
    """Functions of ``owner`` that accept ``call``'s arguments, most similar names first."""
    fitting = [
        n
        for n, arity in functions(file, owner).items()
        if n != name and not n.startswith("__") and arity.accepts(call)
    ]
    return sorted(fitting, key=lambda n: (-_affinity(n, name), n))[:MAX_NAMES]


def _affinity(a: str, b: str) -> int:
    """Length of the common prefix plus the common suffix (``get_x`` ~ ``get_y``)."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix + suffix
