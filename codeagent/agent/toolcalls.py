"""The ``tools`` strategy: a capable model drives with four function tools.

``read_file``, ``search_code`` (the index: definitions, source, callers), ``apply_patch`` (a
unified diff, all hunks or none) and ``run_tests``. A patch stays applied (the model works on
the current state) and is followed by a run of the whole suite whose outcome is the tool's
result; when the run meets the session's ``Expectations`` (the originally failing tests pass,
every test that passed still passes, the run went to its end), the session ends there, fixed.
A patch is refused before it is applied when the ``Guard`` refuses a file it touches (both
sides of a rename) or its code reaches into the test harness. Arguments are checked against
the tool's schema: a wrong one is an error for the model, never the session's end. A reply
with no tool call gets the current test failures back, until the budget ends it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codeagent.agent.bench import Bench
from codeagent.agent.context import failures_text, suspect_code
from codeagent.agent.events import CandidateProposed, CandidateTested, FixFound, ToolCalled
from codeagent.agent.outcome import Fixed
from codeagent.agent.runs import run_and_report
from codeagent.agent.validate import screen
from codeagent.errors import CodeagentError, PatchError
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Item, user_message
from codeagent.protocol.request import FunctionTool
from codeagent.tools.patch import apply_patch
from codeagent.tools.testresults import TestReport

OUTPUT_CHARS = 6000
"""A tool result past this is cut: every later turn attends over it."""


def tool_definitions(describe: dict[str, str]) -> tuple[FunctionTool, ...]:
    def schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": props, "required": required}

    return (
        FunctionTool(
            "read_file",
            describe["read_file"],
            schema(
                {"path": {"type": "string"}, "start": {"type": "integer"},
                 "end": {"type": "integer"}},
                ["path"],
            ),
        ),
        FunctionTool(
            "search_code",
            describe["search_code"],
            schema(
                {"symbol": {"type": "string"},
                 "kind": {"type": "string", "enum": ["definition", "source", "callers"]}},
                ["symbol"],
            ),
        ),
        FunctionTool(
            "apply_patch", describe["apply_patch"], schema({"patch": {"type": "string"}}, ["patch"])
        ),
        FunctionTool("run_tests", describe["run_tests"], schema({"all": {"type": "boolean"}}, [])),
    )  # fmt: skip


async def run_tools(bench: Bench) -> None:
    prompts = bench.prompts("tools")
    describe = {name: prompts.text(name) for name in ("read_file", "search_code",
                                                       "apply_patch", "run_tests")}  # fmt: skip
    tools = tool_definitions(describe)
    bench.conversation.configure(prompts.text("instructions"), tools)
    code = suspect_code(bench.suspects, bench.sources, max_lines=bench.options.code_lines * 2)
    context = prompts.render(
        "context",
        failures=failures_text(bench.baseline),
        repo_map=bench.repo_map or "(empty)",
        code=code.text,
    )
    await bench.conversation.warmup([user_message(context)])
    runner = _Tools(bench, tools)
    items: list[Item] = [user_message("Fix the failing tests.")]
    while True:
        response = await bench.conversation.turn(items, "tools")
        calls = response.function_calls
        if not calls:
            report = await asyncio.to_thread(run_and_report, bench, "tool", everything=True)
            lacking = bench.validator.expectations.of_suite(report)
            if not lacking:
                raise Fixed("the tests pass")
            items = [user_message(f"The tests still fail:\n{_lacking_text(lacking, report)}")]
            continue
        items = []
        for call in calls:
            output = await asyncio.to_thread(runner.call, call)  # tests: off the loop
            items.append(FunctionCallOutput(call.call_id, _cut(output)))


class _Tools:
    def __init__(self, bench: Bench, tools: tuple[FunctionTool, ...]) -> None:
        self.bench = bench
        self.tools = {tool.name: tool for tool in tools}
        self.patches = 0
        self._index: Any = None

    def call(self, call: FunctionCall) -> str:
        """The tool's result as text for the model; errors are results too (never raised),
        except ``Fixed``."""
        try:
            args = json.loads(call.arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
            tool = self.tools.get(call.name)
            if tool is None:
                raise ValueError(f"no tool named {call.name!r}")
            check_arguments(tool, args)
            output, ok = str(getattr(self, f"_{call.name}")(**args)), True
        except Fixed:
            self.bench.emit(ToolCalled(call.name, call.arguments[:500], True, "fixed"))
            raise
        except (CodeagentError, ValueError, TypeError) as exc:
            output, ok = f"error: {exc}", False
        self.bench.emit(ToolCalled(call.name, call.arguments[:500], ok, output[:200]))
        return output

    def _read_file(self, path: str, start: int = 1, end: int | None = None) -> str:
        lines = self.bench.files.read(path).splitlines()
        last = min(len(lines), end or len(lines), start + 399)
        body = "\n".join(f"{n:>5} {lines[n - 1]}" for n in range(max(1, start), last + 1))
        more = f"\n… {len(lines) - last} more lines" if last < len(lines) else ""
        return body + more

    def _search_code(self, symbol: str, kind: str = "definition") -> str:
        if self._index is None:
            from codeagent.index.repo_index import RepoIndex  # noqa: PLC0415

            self._index = RepoIndex.open(self.bench.files.root)
        if kind == "source":
            found = self._index.source_of(symbol)
            return "\n\n".join(f"# {loc.path}:{loc.line}\n{text}" for loc, text in found) or (
                f"no definition of {symbol}"
            )
        if kind == "callers":
            sites = self._index.callers(symbol)
            return "\n".join(
                f"{s.path}:{s.line} in {s.caller.name if s.caller else '<module>'}" for s in sites
            ) or (f"no callers of {symbol}")
        locations = self._index.lookup(symbol)
        return "\n".join(f"{loc.path}:{loc.line} {loc.signature}" for loc in locations) or (
            f"no definition of {symbol}"
        )

    def _apply_patch(self, patch: str) -> str:
        bench = self.bench
        changes = apply_patch(patch, self._read_or_none)
        touched = [c.path for c in changes]
        guard = bench.validator.guard
        for change in changes:
            old = self._read_or_none(change.old_path or change.path)
            refused = None
            if change.old_path is not None:  # a rename: the old file goes away
                refused = screen(guard, change.old_path, old, None)
                old = None
            refused = refused or screen(guard, change.path, old, change.new_text)
            if refused is not None:
                raise PatchError(f"refused: {refused}")
        self.patches += 1
        bench.usage.candidates += 1
        bench.emit(CandidateProposed(self.patches, "model", touched[0], 0, "patch", patch[:4000]))
        for change in changes:
            if change.new_text is None:
                bench.files.delete(change.path)
            else:
                bench.files.write(change.path, change.new_text)
            if change.old_path is not None:
                bench.files.delete(change.old_path)
                bench.sources.pop(change.old_path, None)
            if change.path.endswith(".py") and change.new_text is not None:
                bench.sources[change.path] = change.new_text
        report = run_and_report(bench, "tool", everything=True)
        lacking = bench.validator.expectations.of_suite(report)
        outcome = "failing" if lacking else "fixed"
        bench.emit(CandidateTested(self.patches, outcome, "; ".join(lacking) or "green",
                                   report.duration))  # fmt: skip
        if not lacking:
            bench.emit(FixFound(self.patches, "patch", bench.files.diff()))
            raise Fixed(f"patch {self.patches} makes the tests pass")
        return f"applied to {', '.join(touched)}. Not fixed yet:\n{_lacking_text(lacking, report)}"

    def _run_tests(self, all: bool = False) -> str:
        bench = self.bench
        report = run_and_report(bench, "tool", everything=all)
        expectations = bench.validator.expectations
        if all:
            lacking = expectations.of_suite(report)
        else:
            lacking = expectations.of_targets(report, bench.validator.targets)
        if not lacking:
            return f"all {len(report.passed)} selected tests pass"
        return _lacking_text(lacking, report)

    def _read_or_none(self, path: str) -> str | None:
        try:
            return self.bench.files.read(path)
        except CodeagentError:
            return None


def check_arguments(tool: FunctionTool, args: dict[str, Any]) -> None:
    """``ValueError`` naming what in ``args`` does not fit ``tool``'s schema (the types used
    by our tools: string, integer, boolean; required properties; no others)."""
    schema = tool.parameters
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in args:
            raise ValueError(f"{tool.name}: missing argument {name!r}")
    for name, value in args.items():
        spec = properties.get(name)
        if spec is None:
            known = ", ".join(properties) or "none"
            raise ValueError(f"{tool.name}: unknown argument {name!r} (arguments: {known})")
        kind = spec.get("type")
        if not _is_kind(value, kind):
            wanted = {"integer": "an integer"}.get(str(kind), f"a {kind}")
            raise ValueError(f"{tool.name}: {name!r} must be {wanted}, not {_json_kind(value)}")
        if "enum" in spec and value not in spec["enum"]:
            raise ValueError(f"{tool.name}: {name!r} must be one of {', '.join(spec['enum'])}")


def _is_kind(value: object, kind: object) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def _json_kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "an object", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _lacking_text(lacking: list[str], report: TestReport) -> str:
    """What keeps a run from counting as a fix, then its failures."""
    failures = failures_text(report) if report.failures else ""
    return "\n".join(f"- {line}" for line in lacking) + (f"\n{failures}" if failures else "")


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_CHARS:
        return text
    half = OUTPUT_CHARS // 2
    return f"{text[:half]}\n… ({len(text) - OUTPUT_CHARS} characters cut) …\n{text[-half:]}"
