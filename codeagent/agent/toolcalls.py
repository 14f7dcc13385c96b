"""The ``tools`` strategy: a capable model drives with four function tools.

``read_file``, ``search_code`` (the index: definitions, source, callers), ``apply_patch`` (a
unified diff, all hunks or none) and ``run_tests``. A patch stays applied (the model works on
the current state) and is followed by a test run whose outcome is the tool's result; when the
originally failing tests pass and nothing else broke, the session ends there, fixed. A reply
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
from codeagent.errors import CodeagentError, PatchError
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Item, user_message
from codeagent.protocol.request import FunctionTool
from codeagent.tools.patch import apply_patch
from codeagent.tools.testresults import is_test_file

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
    bench.conversation.configure(prompts.text("instructions"), tool_definitions(describe))
    code = suspect_code(bench.suspects, bench.sources, max_lines=bench.options.code_lines * 2)
    context = prompts.render(
        "context",
        failures=failures_text(bench.baseline),
        repo_map=bench.repo_map or "(empty)",
        code=code.text,
    )
    await bench.conversation.warmup([user_message(context)])
    runner = _Tools(bench)
    items: list[Item] = [user_message("Fix the failing tests.")]
    while True:
        response = await bench.conversation.turn(items, "tools")
        calls = response.function_calls
        if not calls:
            report = await asyncio.to_thread(run_and_report, bench, "tool", everything=True)
            if report.green:
                raise Fixed("the tests pass")
            items = [user_message(f"The tests still fail:\n{failures_text(report)}")]
            continue
        items = []
        for call in calls:
            output = await asyncio.to_thread(runner.call, call)  # tests: off the loop
            items.append(FunctionCallOutput(call.call_id, _cut(output)))


class _Tools:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.patches = 0
        self._index: Any = None

    def call(self, call: FunctionCall) -> str:
        """The tool's result as text for the model; errors are results too (never raised),
        except ``Fixed``."""
        try:
            args = json.loads(call.arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
            handler = getattr(self, f"_{call.name}", None)
            if handler is None:
                raise ValueError(f"no tool named {call.name!r}")
            output, ok = str(handler(**args)), True
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
        if not bench.options.allow_test_edits:
            tests = [p for p in touched if is_test_file(p)]
            if tests:
                raise PatchError(
                    f"refused: the patch edits tests ({', '.join(tests)}); fix the code"
                )
        self.patches += 1
        bench.usage.candidates += 1
        bench.emit(CandidateProposed(self.patches, "model", touched[0], 0, "patch", patch[:4000]))
        for change in changes:
            if change.new_text is None:
                bench.files.delete(change.path)
            else:
                bench.files.write(change.path, change.new_text)
            if change.path.endswith(".py") and change.new_text is not None:
                bench.sources[change.path] = change.new_text
        report = run_and_report(bench, "tool", everything=True)
        outcome = "fixed" if report.green else "failing"
        bench.emit(CandidateTested(self.patches, outcome, f"{len(report.failures)} failing",
                                   report.duration))  # fmt: skip
        if report.green:
            bench.emit(FixFound(self.patches, "patch", bench.files.diff()))
            raise Fixed(f"patch {self.patches} makes the tests pass")
        return f"applied to {', '.join(touched)}. The tests still fail:\n{failures_text(report)}"

    def _run_tests(self, all: bool = False) -> str:
        report = run_and_report(self.bench, "tool", everything=all)
        if report.green:
            return f"all {len(report.passed)} selected tests pass"
        return failures_text(report)

    def _read_or_none(self, path: str) -> str | None:
        try:
            return self.bench.files.read(path)
        except CodeagentError:
            return None


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_CHARS:
        return text
    half = OUTPUT_CHARS // 2
    return f"{text[:half]}\n… ({len(text) - OUTPUT_CHARS} characters cut) …\n{text[-half:]}"
