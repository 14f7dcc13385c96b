"""Candidates that reach into the test harness instead of fixing the code.

The code under test runs in the same process as pytest and codeagent's probe, so in principle
it can decide its own verdict: skip the failing test (``pytest.skip``), end the process early
(``os._exit``), or find the probe or pytest's plugin manager and rewrite outcomes (through
``sys.modules``, frames, the garbage collector, ``ctypes``). The verdict checks what such code
cannot forge from inside (the exit status seen from outside, the session's end, each required
test's outcome, the count of tests run), and a candidate whose new code brings in any of these
means is refused before it runs: a fix of a library never needs them. Only what the candidate
adds counts (the same name in the file before is fine: a pytest plugin's own code mentions
pytest). Dynamic code (``eval``, ``exec``, ``__import__``, ``importlib``) is refused as well,
since what it does cannot be read. Pure.
"""

from __future__ import annotations

import ast

MODULES = frozenset(
    {"pytest", "_pytest", "pluggy", "ctypes", "importlib", "gc"}
    | {"codeagent_probe", "codeagent_forkserver", "codeagent_reaper"}
)
"""Modules a fix may not start importing."""
NAMES = frozenset(
    {
        *("os._exit", "sys.modules", "sys._getframe", "sys.settrace", "sys.setprofile"),
        *("sys.monitoring", "threading.settrace", "inspect.currentframe", "inspect.stack"),
        *("inspect.trace", "inspect.getouterframes", "unittest.SkipTest", "SkipTest"),
        *("unittest.case.SkipTest",),
        *("__import__", "eval", "exec", "builtins", "__builtins__"),
    }
)
"""Names and attribute chains a fix may not start using."""
STRINGS = ("codeagent", "CODEAGENT", "/proc/")
"""Text a fix may not start holding in a string (names of the harness, its variables)."""


def harness_reach(old: str | None, new: str) -> str | None:
    """What ``new`` (a Python file's text) newly reaches of the harness compared with ``old``,
    or None. Text that does not parse is not judged here (the tests will fail on it)."""
    added = _reach(new)
    if not added:
        return None
    if old is not None:
        added -= _reach(old)
    return ", ".join(sorted(added)[:3]) if added else None


def _reach(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    aliases: dict[str, str] = {}
    """Local name -> what it was imported as (``import os as o``: ``o`` -> ``os``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_modules(alias.name for alias in node.names))
            aliases.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(_modules([node.module]))
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                aliases[alias.asname or alias.name] = full
                if full in NAMES or alias.name in NAMES:
                    found.add(full)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            chain = _chain(node, aliases)
            if chain in NAMES:
                found.add(chain)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(f"{s!r} in a string" for s in STRINGS if s in node.value)
    return found


def _modules(names: object) -> set[str]:
    found: set[str] = set()
    for name in names:  # type: ignore[attr-defined]
        top = str(name).split(".")[0]
        if top in MODULES:
            found.add(f"import {top}")
    return found


def _chain(node: ast.expr, aliases: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))
