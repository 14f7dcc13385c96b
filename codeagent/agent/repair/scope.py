"""What is in scope at a statement: the ingredients that replacement operators draw from.

Program repair finds most fix ingredients close by (the "redundancy assumption": Martinez et al.
2014, and Yang et al. 2021 for Defects4J), so every query looks in the enclosing function, class
and module only, and returns each name with the lines it occurs on, for ranking by distance.
Results are cached on the ``SourceFile`` per scope node.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass

from codeagent.agent.repair.source import FunctionNode, SourceFile, Statement

BUILTINS = frozenset(dir(builtins))
_IMPLICIT = frozenset({"self", "cls", "_", "__class__"})
_KEY_METHODS = frozenset({"get", "pop", "setdefault", "__getitem__", "__contains__"})
_ATTR_FUNCTIONS = frozenset({"getattr", "setattr", "hasattr", "delattr"})
_PROPERTIES = frozenset({"property", "cached_property", "functools.cached_property"})
MAX_STRING = 80

Occurrences = dict[str, list[int]]


@dataclass(frozen=True, slots=True)
class Arity:
    """What calls a function accepts (positional counts exclude ``self``/``cls`` of methods)."""

    least: int
    most: int | None
    names: frozenset[str]
    any_keyword: bool

    def accepts(self, call: ast.Call) -> bool:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            return False
        count = len(call.args) + len(call.keywords)
        if count < self.least or (self.most is not None and len(call.args) > self.most):
            return False
        return self.any_keyword or all(k.arg in self.names for k in call.keywords)


_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})  # operator singletons: never a site or a donor


def walk(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(child, parent) for every node under ``node``, parents before children, f-string
    internals and operator singletons left out; iterative (deep trees do not recurse)."""
    stack: list[tuple[ast.AST, ast.AST]] = []
    _push_children(stack, node)
    while stack:
        child, parent = stack.pop()
        yield child, parent
        if not isinstance(child, ast.JoinedStr):
            _push_children(stack, child)


def _push_children(stack: list[tuple[ast.AST, ast.AST]], node: ast.AST) -> None:
    for field in node._fields:
        if field in _LEAF_FIELDS:
            continue
        value = getattr(node, field, None)
        if isinstance(value, ast.AST):
            stack.append((value, node))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    stack.append((item, node))


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def variables(file: SourceFile, statement: Statement) -> Occurrences:
    """Variables a name at the statement could be replaced by: parameters and locals of the
    function (and the module globals it reads), or the module's globals at module level."""
    module = _module(file)
    function, outermost = statement.function, statement.where.outermost
    if function is None or outermost is None:
        return module.variables
    key = ("variables", id(function))
    found = file.cache.get(key)
    if isinstance(found, dict):
        return found
    lines: Occurrences = {}
    stored: set[str] = set()
    nested: set[str] = set()
    # The outermost function: a nested function sees its enclosing functions' names.
    for node, _ in walk(outermost):
        if isinstance(node, ast.Name) and node.id not in _IMPLICIT:
            lines.setdefault(node.id, []).append(node.lineno)
            if isinstance(node.ctx, ast.Store):
                stored.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            nested.add(node.name)
    params = {*_parameters(function), *_parameters(outermost)}
    result: Occurrences = {p: [function.lineno] for p in params}
    for name, where in lines.items():
        if name not in nested and (name in result or name in stored or name in module.variables):
            result[name] = result.get(name, []) + where
    file.cache[key] = result
    return result


def is_module_level_name(file: SourceFile, name: str) -> bool:
    """``name`` is bound by an import, ``def`` or ``class``, or is a builtin."""
    return name in _module(file).excluded


def attributes(file: SourceFile, statement: Statement, base: str, called: bool) -> Occurrences:
    """Attributes used on ``base`` (``self``/``cls``: in the class; else in the module), called
    (methods) or not (fields and properties), with their lines."""
    scope: ast.AST = file.tree
    if base in {"self", "cls"} and statement.cls is not None:
        scope = statement.cls
    key = ("attributes", id(scope))
    table = file.cache.get(key)
    if not isinstance(table, dict):
        table = _attribute_table(file, scope)
        file.cache[key] = table
    found: Occurrences = table.get((base, called), {})
    return found


def _attribute_table(file: SourceFile, scope: ast.AST) -> dict[tuple[str, bool], Occurrences]:
    first, last = _span(scope)
    table: dict[tuple[str, bool], Occurrences] = {}
    for base, called, attr, line in _module(file).attributes:
        if first <= line <= last:
            table.setdefault((base, called), {}).setdefault(attr, []).append(line)
    if isinstance(scope, ast.ClassDef):
        for member in scope.body:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                prop = any(dotted(d) in _PROPERTIES for d in member.decorator_list)
                for base in ("self", "cls"):
                    entry = table.setdefault((base, not prop), {})
                    entry.setdefault(member.name, []).append(member.lineno)
    return table


@dataclass(frozen=True, slots=True)
class StringUse:
    value: str | bytes
    kind: str
    """``key`` (subscripts, dict keys, ``get``), ``attr`` (``getattr`` names) or ``other``."""
    line: int


def strings(file: SourceFile, scope: ast.AST) -> list[StringUse]:
    """Short one-line string literals in ``scope`` (docstrings and f-strings left out)."""
    first, last = _span(scope)
    return [use for use in _module(file).strings if first <= use.line <= last]


@dataclass(frozen=True, slots=True)
class _Module:
    """What one walk of the whole module tells every query."""

    variables: Occurrences
    excluded: frozenset[str]
    """Names bound by imports, ``def`` and ``class`` anywhere in the module, and builtins."""
    strings: list[StringUse]
    attributes: list[tuple[str, bool, str, int]]
    """(base, called, attribute, line) for every ``base.attribute`` with a dotted base."""


def _module(file: SourceFile) -> _Module:
    key = ("module", id(file.tree))
    found = file.cache.get(key)
    if isinstance(found, _Module):
        return found
    excluded = set(BUILTINS)
    docstrings = set(_docstring(file.tree))
    strings: list[StringUse] = []
    attributes: list[tuple[str, bool, str, int]] = []
    for node, parent in walk(file.tree):
        if isinstance(node, ast.alias):
            excluded.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            excluded.add(node.name)
            docstrings.update(_docstring(node))
        elif isinstance(node, ast.Attribute):
            base = dotted(node.value)
            if base is not None:
                called = isinstance(parent, ast.Call) and parent.func is node
                attributes.append((base, called, node.attr, node.lineno))
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            if isinstance(value, str | bytes) and _short_string(node):
                strings.append(StringUse(value, string_kind(node, parent), node.lineno))
    variables: Occurrences = {}
    for statement in file.tree.body:
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for node, _ in walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    variables.setdefault(node.id, []).append(node.lineno)
    for name in excluded & variables.keys():
        del variables[name]
    result = _Module(variables, frozenset(excluded), strings, attributes)
    file.cache[key] = result
    return result


def _short_string(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str | bytes)
        and node.lineno == node.end_lineno
        and len(node.value) <= MAX_STRING
    )


def _docstring(
    node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[int]:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return [id(body[0].value)]
    return []


def _span(scope: ast.AST) -> tuple[int, int]:
    if isinstance(scope, ast.Module):
        return 0, 1 << 62
    first = min([scope.lineno, *(d.lineno for d in getattr(scope, "decorator_list", []))])  # type: ignore[attr-defined]
    return first, scope.end_lineno or first  # type: ignore[attr-defined]


def _parameters(function: FunctionNode | ast.Lambda) -> list[str]:
    a = function.args
    every = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
    return [p.arg for p in every if p.arg not in _IMPLICIT]


def functions(file: SourceFile, owner: ast.Module | ast.ClassDef) -> dict[str, Arity]:
    """The functions defined directly in a module, or the methods of a class."""
    key = ("functions", id(owner))
    found = file.cache.get(key)
    if isinstance(found, dict):
        return found
    result: dict[str, Arity] = {}
    for node in owner.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            result[node.name] = _arity(node, method=isinstance(owner, ast.ClassDef))
    file.cache[key] = result
    return result


def _arity(function: FunctionNode, method: bool) -> Arity:
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    static = any(dotted(d) == "staticmethod" for d in function.decorator_list)
    if method and not static and positional:
        positional = positional[1:]
    required = len(positional) - len(a.defaults)
    required += sum(1 for d in a.kw_defaults if d is None)
    names = frozenset(p.arg for p in [*a.args, *a.kwonlyargs])
    most = None if a.vararg else len(positional)
    return Arity(max(required, 0), most, names, a.kwarg is not None)


def string_kind(node: ast.AST, parent: ast.AST) -> str:
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return "key"
    if isinstance(parent, ast.Dict) and any(k is node for k in parent.keys):
        return "key"
    if isinstance(parent, ast.Call) and parent.args:
        func = parent.func
        if isinstance(func, ast.Attribute) and func.attr in _KEY_METHODS and parent.args[0] is node:
            return "key"
        if isinstance(func, ast.Name) and func.id in _ATTR_FUNCTIONS:
            return "attr" if len(parent.args) > 1 and parent.args[1] is node else "other"
    return "other"
