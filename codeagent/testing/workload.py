"""A deterministic edit -> test conversation for wire measurements.

Turn 1 carries the static context (a synthetic source file of about ``context_bytes``); each
later turn carries what an agent sends after applying a patch: the applied diff and the trimmed
test output, a few hundred bytes. The instructions are short and the tools compact, since both go
with every request (PROTOCOL.md: they are not inherited through ``previous_response_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codeagent.protocol.items import Item, user_message
from codeagent.protocol.request import FunctionTool
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.stats import TurnStats

INSTRUCTIONS = "Fix the failing Python tests with one minimal unified diff per turn."

_PATH = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
TOOLS = (
    FunctionTool("read_file", "Read a file.", _PATH),
    FunctionTool(
        "apply_patch",
        "Apply a unified diff.",
        {"type": "object", "properties": {"diff": {"type": "string"}}, "required": ["diff"]},
    ),
    FunctionTool("run_tests", "Run the tests.", {"type": "object", "properties": {}}),
)


def static_context(context_bytes: int) -> Item:
    """A synthetic module of about ``context_bytes`` bytes, as the first turn's input."""
    header = "Repository map and source of the failing module (calc/ops.py):\n\n"
    parts = [header]
    size = len(header)
    i = 0
    while size < context_bytes:
        block = (
            f"def op_{i}(a: int, b: int) -> int:\n"
            f'    """Combine a and b with rule {i}."""\n'
            f"    return (a * {i % 7 + 1}) + (b - {i % 5})\n\n"
        )
        parts.append(block)
        size += len(block)
        i += 1
    return user_message("".join(parts)[:context_bytes])


def edit_test_turn(n: int) -> Item:
    """What the agent sends after applying candidate ``n``: its diff and the test output."""
    return user_message(
        f"Applied candidate {n}:\n"
        "--- a/calc/ops.py\n+++ b/calc/ops.py\n"
        f"@@ -{3 * n + 1},3 +{3 * n + 1},3 @@\n"
        f" def op_{n}(a: int, b: int) -> int:\n"
        f"-    return (a * {n % 7 + 1}) + (b - {n % 5})\n"
        f"+    return (a * {n % 7 + 1}) - (b - {n % 5})\n"
        f"Tests: {max(0, 9 - n)} failed, {40 + n} passed in 0.{n}1s\n"
        f"FAILED tests/test_ops.py::test_op_{n} - assert {n + 3} == {n + 4}"
    )


def edit_test_report(n: int) -> Item:
    """A fuller edit -> test turn, about 250 tokens: a diff of a few hunks and a pytest failure,
    as an agent sends it to a real model after applying candidate ``n``."""
    diff = "".join(
        f"@@ -{3 * k + 1},3 +{3 * k + 1},3 @@\n"
        f" def op_{k}(a: int, b: int) -> int:\n"
        f"-    return (a * {k % 7 + 1}) + (b - {k % 5})\n"
        f"+    return (a * {k % 7 + 1}) - (b - {k % 5})\n"
        for k in (n, n + 1)
    )
    return user_message(
        f"Applied candidate {n}:\n--- a/calc/ops.py\n+++ b/calc/ops.py\n{diff}"
        f"$ python -m pytest -q tests/test_ops.py\n"
        f"{'.' * (40 + n)}F{'.' * 7}\n"
        "=================================== FAILURES ===================================\n"
        f"________________________________ test_op_{n} _________________________________\n\n"
        f"    def test_op_{n}():\n"
        f">       assert op_{n}(2, 3) == {n + 4}\n"
        f"E       assert {n + 3} == {n + 4}\n"
        f"E        +  where {n + 3} = op_{n}(2, 3)\n\n"
        f"tests/test_ops.py:{12 + 4 * n}: AssertionError\n"
        "=========================== short test summary info ============================\n"
        f"FAILED tests/test_ops.py::test_op_{n} - assert {n + 3} == {n + 4}\n"
        f"1 failed, {47 + n} passed in 0.{n % 10}4s"
    )


def config(
    *, store: bool = False, chain: bool = True, model: str = "codeagent-echo", **extra: Any
) -> ClientConfig:
    return ClientConfig(
        model=model, instructions=INSTRUCTIONS, tools=TOOLS, store=store, chain=chain, **extra
    )


async def run_edit_test_loop(
    client: ResponsesClient,
    turns: int,
    context: Item,
    report: Callable[[int], Item] = edit_test_turn,
) -> list[TurnStats]:
    """Run ``turns`` turns: the first with the static ``context``, each with one edit-test
    ``report`` (the short one by default; ``edit_test_report`` for a real model)."""
    await client.turn([context, report(0)])
    for n in range(1, turns):
        await client.turn([report(n)])
    return client.stats[-turns:]
