"""What the model is shown: the failure, the code on the failing path, a small repo map.

Kept small on purpose: the static prefix is prefilled once per connection, but every later
token still attends over it, and the bundled model decodes ~60 tokens/s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeagent.agent.pysource import Span, enclosing, excerpt, function_of_node, numbered
from codeagent.agent.suspects import Suspect
from codeagent.tools.testresults import TestCase, TestReport

MESSAGE_CHARS = 600
"""A failure message past this is cut (pytest's assertion diffs can be long)."""


@dataclass(frozen=True, slots=True)
class CodeView:
    text: str
    functions: tuple[str, ...]
    """``path:qualname`` of each function shown."""


def failure_text(case: TestCase, *, frames: int = 4) -> str:
    """A failing test as the model needs it: the message and the last frames in the repo."""
    message = case.message.strip()
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + " …"
    trace = [f for f in case.frames if f.in_repo][-frames:]
    lines = [f"  {f.path}:{f.line} in {f.function}" for f in trace]
    return "\n".join([*lines, message] if lines else [message])


def failures_text(report: TestReport, *, limit: int = 3) -> str:
    """What failed, for the model; a run that timed out or never ran says so (an empty list of
    failures would read as "nothing failed")."""
    failing = report.failures
    parts = [f"{c.nodeid}\n{failure_text(c)}" for c in failing[:limit]]
    if len(failing) > limit:
        parts.append(f"… and {len(failing) - limit} more failing")
    if report.timed_out:
        parts.insert(0, f"The test run timed out after {report.duration:.0f} s and was killed: "
                        "the change may make a test hang.")  # fmt: skip
    elif not failing and not report.ran:
        tail = "\n".join(report.output.strip().splitlines()[-5:])
        parts.append(f"The tests did not run (exit status {report.exit_code}):\n{tail}")
    return "\n\n".join(parts)


def code_of_test(case: TestCase, sources: Mapping[str, str], *, max_lines: int = 30) -> str:
    """The failing test's own function, as written (cut to ``max_lines``)."""
    source = sources.get(case.path)
    span = function_of_node(source, case.nodeid) if source is not None else None
    if source is None or span is None:
        return ""
    end = min(span.end, span.start + max_lines - 1)
    return excerpt(source, span.start, end)


def suspect_code(
    suspects: Sequence[Suspect],
    sources: Mapping[str, str],
    *,
    max_functions: int = 3,
    max_lines: int = 90,
) -> CodeView:
    """The functions holding the top suspects, numbered, the suspect lines marked, in rank
    order, within ``max_lines`` in all."""
    chosen: list[tuple[str, Span]] = []
    seen: set[tuple[str, str]] = set()
    for suspect in suspects:
        source = sources.get(suspect.path)
        if source is None:
            continue
        span = enclosing(source, suspect.line) or Span(
            "<module>", max(1, suspect.line - 3), suspect.line + 3
        )
        key = (suspect.path, span.qualname if span.qualname != "<module>" else str(span.start))
        if key in seen:
            continue
        seen.add(key)
        chosen.append((suspect.path, span))
        if len(chosen) == max_functions:
            break
    parts: list[str] = []
    used = 0
    names: list[str] = []
    for path, span in chosen:
        room = max_lines - used
        if room < 5:
            break
        end = min(span.end, span.start + room - 1)
        marks = frozenset(s.line for s in suspects[:10] if s.path == path)
        parts.append(f"# {path}\n{numbered(sources[path], span.start, end, mark=marks)}")
        used += end - span.start + 1
        names.append(f"{path}:{span.qualname}")
    return CodeView("\n\n".join(parts), tuple(names))


@dataclass(frozen=True, slots=True)
class MapView:
    text: str
    tokens: int
    files: int


def repo_map(root: Path, focus: Sequence[str], budget: int, *, cache_for: Path | None) -> MapView:
    """The ranked repo map of ``root`` toward ``focus`` (files and symbols of the failure).

    ``cache_for``: the user's project, whose index cache serves the work copy too (tags are
    keyed by content, so a fresh work copy costs hashing, not parsing)."""
    from codeagent.index.repo_index import RepoIndex  # noqa: PLC0415  (loads tree-sitter)
    from codeagent.index.store import IndexStore  # noqa: PLC0415

    store = IndexStore.for_root(str(cache_for.resolve())) if cache_for is not None else None
    index = RepoIndex.open(root, store=store)
    if budget <= 0:
        return MapView("", 0, len(index.paths))
    found = index.repo_map(budget=budget, focus=focus)
    return MapView(found.text, found.tokens, len(index.paths))
