"""What one failing test's traceback and assertion say about where the bug is: ``Clue``s.

Spectrum formulas only see which lines ran. A failure says more, and this module reads it:

- the frame that raised, and the repo frames above it, weighted by depth from the failure point;
- the statement before the failure point (a missing guard belongs there), the first lines of
  the functions on the trace, the ``except`` clauses the exception passed through;
- the parts of those functions that ran at import time and so have no per-test coverage: the
  signature and decorators, a default value the call did not override, the module-level names
  (constants, imports) and class attributes the functions read;
- for a test that waited in vain for an exception (``pytest.raises``): the conditions guarding
  the ``raise`` of that type; for an explicit ``raise`` that fired: the conditions that led to it;
- data flow: from the failing assertion in the test into the repo functions whose returned
  values it compares, and from the raising line back to the assignments, conditions and callees
  that made its values (``flow``); the names the assertion reads and the two sides of its
  comparison as the message prints them;
- string literals the error message quotes, in the modules on the trace.

Each clue has a kind and a weight in (0, 1]; ``localise`` merges them across tests and with the
spectrum score. Clues may land in test files; the caller drops those.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

from codeagent.agent.flow import FLOW_START as FLOW
from codeagent.agent.flow import Clue, Flow, sentinel
from codeagent.agent.outline import Function
from codeagent.agent.program import Program
from codeagent.agent.statements import calls_in, header_exprs, literals, loaded_names
from codeagent.tools.testresults import Frame, TestCase, is_test_file

RAISED = 1.0
"""The raising line: most one-line bugs (a wrong key, index, operator) fail right there."""
CALLER = 0.5
"""A frame above the raising one, divided by its depth: its call may pass wrong arguments."""
HANDLER = 0.6
"""An ``except`` clause the exception passed through: it may name the wrong type."""
BEFORE = 0.5
"""The statement before the failure point: where a missing guard would go."""
FIRST = 0.3
"""The first statements of a function on the trace: the other place guards live."""
DEFAULT_NOT_PASSED = 0.5
"""The default of a parameter the call left out: it ran at import time, so no test covers it."""
SIGNATURE = 0.15
"""The ``def`` line and decorators of a function on the trace."""
MODULE_NAME = 0.2
"""A module-level line binding a name a function on the trace reads."""
MESSAGE = 0.4
"""A line whose string literal the error message quotes."""
EXPECTED_RAISE = 0.8
"""A condition guarding a ``raise`` of the type a ``pytest.raises`` test waited for in vain."""
EXPLICIT_RAISE = 0.5
"""A ``raise`` statement is the code reacting as written: the condition that led to it is the
likelier bug, and weighs ``RAISED``."""

_QUOTED = re.compile(r"""'([^'\n]{2,80})'|"([^"\n]{2,80})\"""")


@dataclass(frozen=True, slots=True)
class Findings:
    clues: tuple[Clue, ...]
    focus: tuple[tuple[str, int], ...]
    """Failure points, nearest first: the raising line in repo code, else the returns of the
    repo functions the failing assertion calls."""


def read_failure(
    case: TestCase,
    program: Program,
    covered: Mapping[str, frozenset[int]] | None,
    traced: frozenset[str] = frozenset(),
) -> Findings:
    """The clues one failing test (or collection error) gives. ``covered`` is the lines that test
    ran and ``traced`` the files the run traced, when it traced coverage; with them, data flow
    follows only what ran."""
    flow = Flow(program, covered, traced)
    frames = [f for f in case.frames if f.in_repo and f.path in program]
    repo = [f for f in frames if not is_test_file(f.path)]
    last = case.frames[-1] if case.frames else None
    raised_in_repo = last is not None and bool(repo) and last == repo[-1]
    focus: list[tuple[str, int]] = []
    for depth, frame in enumerate(reversed(repo)):
        caller = _caller(case.frames, frame)
        _frame(flow, frame, depth, raised=raised_in_repo and depth == 0, caller=caller)
        if depth == 0:
            focus.append((frame.path, frame.line))
    tests = [f for f in frames if is_test_file(f.path)]
    if tests and (not repo or case.frames.index(tests[-1]) > case.frames.index(repo[-1])):
        focus.extend(_assertion(flow, tests[-1], case.message))
    _message(flow, case.message, repo)
    return Findings(tuple(flow.clues()), tuple(focus))


def _caller(frames: tuple[Frame, ...], frame: Frame) -> Frame | None:
    index = frames.index(frame)
    before = [f for f in frames[:index] if f.in_repo]
    return before[-1] if before else None


def _frame(flow: Flow, frame: Frame, depth: int, *, raised: bool, caller: Frame | None) -> None:
    o = flow.program.outline(frame.path)
    decay = 1.0 / (1 + depth)
    stmt = o.statement_at(frame.line)
    fn = o.function_at(frame.line)
    if raised and isinstance(stmt, ast.Raise) and fn is not None:
        flow.add(frame.path, frame.line, RAISED * EXPLICIT_RAISE, "raised", "raised here")
        for cond in flow.conditions(frame.path, fn, stmt):
            flow.add(frame.path, cond.lineno, RAISED, "raised", "condition that led to the raise")
    elif raised:
        flow.add(frame.path, frame.line, RAISED, "raised", "raised here")
    else:
        why = f"on the trace (depth {depth})"
        flow.add(frame.path, frame.line, CALLER * decay if depth else RAISED * 0.8, "trace", why)
    if stmt is not None and stmt.lineno != frame.line:
        flow.add(frame.path, stmt.lineno, RAISED * decay * 0.8, "trace", "starts the failing line")
    start = stmt.lineno if stmt is not None else frame.line
    before = o.previous.get(start)
    if before is not None:
        flow.add(frame.path, before, BEFORE * decay, "before", "statement before the failure")
    for clause in o.handlers.get(frame.line, ()):
        why = "except clause the exception passed through"
        flow.add(frame.path, clause, HANDLER * decay, "handler", why)
    if fn is None:
        return
    call = _call_site(flow, caller, fn)
    _function(flow, frame.path, fn, decay, call, guards=True)
    if stmt is not None:
        flow.uses(frame.path, fn, stmt, FLOW * decay, 0, why="used at the failure point")


def _assertion(flow: Flow, frame: Frame, message: str) -> list[tuple[str, int]]:
    """Follow the failing test statement into the repo functions whose values it checks."""
    o = flow.program.outline(frame.path)
    stmt = o.statement_at(frame.line)
    test = o.function_at(frame.line)
    if stmt is None:
        return []
    flow.named = _named(stmt) | _quoted(message)
    flow.actual, flow.expected = _sides(message)
    # A test that expected an exception and got none: the missing guard is in what it called.
    expects_raise = isinstance(stmt, ast.With | ast.AsyncWith)
    focus: list[tuple[str, int]] = []
    expected = _expected_exceptions(stmt)
    for path, fn, call in _entries(flow, frame.path, test, stmt):
        _function(flow, path, fn, 1.0, call, guards=expects_raise)
        _expected_raise(flow, path, fn, expected)
        focus.extend((path, line) for line in flow.value_of(path, fn, FLOW, 0))
    return focus


def _entries(
    flow: Flow, path: str, test: Function | None, stmt: ast.stmt
) -> list[tuple[str, Function, ast.Call]]:
    """The repo functions called by the failing statement, directly or through the test's own
    variables and helpers (``result = f(x); assert result == 3``)."""
    found: list[tuple[str, Function, ast.Call]] = []
    seen: set[int] = set()
    todo: list[tuple[ast.stmt, str, Function | None]] = [(stmt, path, test)]
    while todo:
        current, where, scope = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        exprs = header_exprs(current)
        if isinstance(current, ast.With | ast.AsyncWith):  # pytest.raises(...): the body calls
            exprs += [e for s in current.body for e in header_exprs(s)]
        for call in calls_in(exprs):
            for callee_path, callee in flow.resolve(call):
                if is_test_file(callee_path):
                    # A test helper: the repo calls are in what it returns.
                    returns = [n for n in ast.walk(callee.node) if isinstance(n, ast.Return)]
                    todo.extend((r, callee_path, callee) for r in returns)
                else:
                    found.append((callee_path, callee, call))
        if scope is not None:
            for name in loaded_names(exprs):
                defs = flow.definitions(where, scope, name, current.lineno)
                todo.extend((d, where, scope) for d in defs)
    return found


def _expected_exceptions(stmt: ast.stmt) -> frozenset[str]:
    """The exception names of ``with pytest.raises(X)`` (or ``raises((X, Y))``)."""
    if not isinstance(stmt, ast.With | ast.AsyncWith):
        return frozenset()
    names: set[str] = set()
    for item in stmt.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and _called_name(call) == "raises" and call.args:
            first = call.args[0]
            for node in first.elts if isinstance(first, ast.Tuple) else [first]:
                names.add(_simple_name(node))
    return frozenset(names - {""})


def _expected_raise(flow: Flow, path: str, fn: Function, expected: frozenset[str]) -> None:
    """The test expected an exception that did not come: the conditions guarding ``fn``'s
    ``raise`` of that type decided against it."""
    for node in ast.walk(fn.node):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if _simple_name(exc) in expected:
                for cond in flow.conditions(path, fn, node):
                    why = "condition of the raise the test expected"
                    flow.add(path, cond.lineno, EXPECTED_RAISE, "raised", why)


def _called_name(call: ast.Call) -> str:
    return _simple_name(call.func)


def _simple_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def _named(stmt: ast.stmt) -> frozenset[str]:
    """Attribute names (not methods) and string keys the failing statement reads."""
    exprs = header_exprs(stmt)
    if isinstance(stmt, ast.With | ast.AsyncWith):
        exprs += [e for s in stmt.body for e in header_exprs(s)]
    called = {id(n.func) for e in exprs for n in ast.walk(e) if isinstance(n, ast.Call)}
    names: set[str] = set()
    for expr in exprs:
        for node in ast.walk(expr):
            if isinstance(node, ast.Attribute) and id(node) not in called:
                names.add(node.attr)
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                names.add(node.slice.value)
    return frozenset(names)


_COMPARISON = re.compile(r"^(?:AssertionError: )?assert (.+?) (?:==|!=) (.+)$")
_INDEX_DIFF = re.compile(r"^\s*At index \d+ diff: (.+?) != (.+)$")


def _sides(message: str) -> tuple[str, str]:
    """The actual and expected sides of pytest's ``assert a == b`` line and of its ``At index
    i diff: a != b`` lines (pytest writes the actual value, the test's left side, first)."""
    actual: list[str] = []
    expected: list[str] = []
    for line in message.splitlines():
        found = _COMPARISON.match(line) or _INDEX_DIFF.match(line)
        if found:
            actual.append(found[1])
            expected.append(found[2])
    return "\n".join(actual), "\n".join(expected)


def _quoted(message: str) -> frozenset[str]:
    """Strings the error message quotes: a key, an attribute, pytest's differing fields."""
    return frozenset(a or b for a, b in _QUOTED.findall(message))


def _call_site(flow: Flow, caller: Frame | None, fn: Function) -> ast.Call | None:
    if caller is None or caller.path not in flow.program:
        return None
    stmt = flow.program.outline(caller.path).statement_at(caller.line)
    if stmt is None:
        return None
    names = {fn.name, (fn.owner or "").rsplit(".", 1)[-1]}
    for call in calls_in(header_exprs(stmt)):
        if _called_name(call) in names:
            return call
    return None


def _function(
    flow: Flow, path: str, fn: Function, decay: float, call: ast.Call | None, *, guards: bool
) -> None:
    """Clues about a function on the trace that are not about one line of its body; with
    ``guards``, its first statements too (where a missing guard would go)."""
    for line in fn.body[:2] if guards else ():
        flow.add(path, line, FIRST * decay, "first", f"first lines of {fn.name}")
    why = f"signature of {fn.name} on the trace"
    flow.add(path, fn.def_line, SIGNATURE * decay, "signature", why)
    for line in fn.decorator_lines:
        flow.add(path, line, SIGNATURE * decay, "signature", f"decorator of {fn.name}")
    for name in _defaults_not_passed(fn, call):
        why = f"default of {name}, not passed"
        weight = DEFAULT_NOT_PASSED * decay * sentinel(fn, name)
        flow.add(path, fn.defaults[name], weight, "signature", why)
    body = [e for s in fn.node.body for e in ast.walk(s) if isinstance(e, ast.expr)]
    for name in sorted(loaded_names(body)):
        flow.global_name(
            path, fn, name, MODULE_NAME * decay, f"module-level {name} read by {fn.name}"
        )


def _defaults_not_passed(fn: Function, call: ast.Call | None) -> list[str]:
    if call is None or any(isinstance(a, ast.Starred) for a in call.args):
        return []
    if any(k.arg is None for k in call.keywords):  # **kwargs: cannot tell
        return []
    bound = fn.positional[:1] in (("self",), ("cls",))
    passed = set(fn.positional[: len(call.args) + bound]) | {k.arg for k in call.keywords if k.arg}
    return sorted(name for name in fn.defaults if name not in passed)


def _message(flow: Flow, message: str, repo: list[Frame]) -> None:
    """A string the error quotes (a key, an attribute, a name) on a line of the trace's
    functions or modules."""
    quoted = _quoted(message)
    if not quoted:
        return
    for path in dict.fromkeys(f.path for f in repo):
        for stmt in flow.program.outline(path).statements.values():
            for text, line in literals(stmt):
                if text in quoted:
                    flow.add(path, line, MESSAGE, "message", f"mentions {text!r} from the error")
