"""A ``Prompt`` as ChatML text, the template of SmolLM2 (and Qwen, Hermes and many others).

    <|im_start|>system
    {instructions}{tools block}<|im_end|>
    <|im_start|>user
    {text}<|im_end|>
    <|im_start|>assistant
    {text}
    <tool_call>
    {"name": "run_tests", "arguments": {"path": "tests"}}
    </tool_call><|im_end|>
    <|im_start|>user
    <tool_response>
    {output}
    </tool_response><|im_end|>
    <|im_start|>assistant

Tools are described in the system block in the Hermes format (``<tools>`` with one JSON schema a
line, calls as ``<tool_call>`` JSON); ``toolcall.ToolCallParser`` reads the model's calls back.
Consecutive assistant-side items (text, function calls) share one assistant block and consecutive
tool outputs one user block, so a model's own reply renders as it was generated. The rendering of
earlier items never depends on later ones: a continuation's text starts with the text of the turn
before, which is what lets a kept KV state be reused.
"""

from __future__ import annotations

import json

from codeagent.errors import InvalidRequest
from codeagent.protocol import wire
from codeagent.protocol.generation import Prompt
from codeagent.protocol.items import FunctionCall, FunctionCallOutput, Item, Message, item_to_json
from codeagent.protocol.request import FunctionTool, Tool, function_tool_json

START, END = "<|im_start|>", "<|im_end|>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"

TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
TOOLS_FORMAT = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def render(prompt: Prompt) -> str:
    """The whole conversation, ending with an open assistant block for the reply."""
    return render_prefix(prompt) + START + "assistant\n"


def render_prefix(prompt: Prompt) -> str:
    """Instructions, tools and items: what a ``generate: false`` warmup processes."""
    blocks: list[tuple[str, str]] = []
    system = _system(prompt.instructions, prompt.tools)
    if system:
        blocks.append(("system", system))
    for item in prompt.items:
        role, text = _block_of(item)
        if blocks and blocks[-1][0] == role and role in ("assistant", "tool_output"):
            blocks[-1] = (role, blocks[-1][1] + "\n" + text)
        else:
            blocks.append((role, text))
    return "".join(
        f"{START}{'user' if role == 'tool_output' else role}\n{text}{END}\n"
        for role, text in blocks
    )


def call_text(name: str, arguments: str) -> str:
    try:
        args: object = wire.loads(arguments) if arguments.strip() else {}
    except InvalidRequest:  # not JSON we can re-encode: the model sees the text as written
        args = arguments
    body = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
    return f"{CALL_OPEN}\n{body}\n{CALL_CLOSE}"


def _system(instructions: str | None, tools: tuple[Tool, ...]) -> str:
    functions = [t for t in tools if isinstance(t, FunctionTool)]
    parts = [instructions] if instructions else []
    if functions:
        lines = "\n".join(
            json.dumps(function_tool_json(tool), ensure_ascii=False, sort_keys=True)
            for tool in functions
        )
        parts.append(TOOLS_PREAMBLE + lines + TOOLS_FORMAT)
    return "\n\n".join(parts)


def _block_of(item: Item) -> tuple[str, str]:
    if isinstance(item, Message):
        role = "system" if item.role == "developer" else item.role
        return role, item.text
    if isinstance(item, FunctionCall):
        return "assistant", call_text(item.name, item.arguments)
    if isinstance(item, FunctionCallOutput):
        return "tool_output", f"<tool_response>\n{item.output}\n</tool_response>"
    return "user", json.dumps(item_to_json(item), ensure_ascii=False, sort_keys=True)
