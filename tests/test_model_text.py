"""The model layer's pure parts: ChatML rendering and the streamed tool-call parser."""

from __future__ import annotations

import json

import pytest

from codeagent.model import chat
from codeagent.model.toolcall import ToolCallParser
from codeagent.protocol.generation import CallDelta, CallStart, Chunk, Prompt, TextDelta
from codeagent.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    assistant_message,
    user_message,
)
from codeagent.protocol.request import FunctionTool

TOOL = FunctionTool("run_tests", "Run the tests.", {"type": "object", "properties": {}})


def feed_all(parser: ToolCallParser, pieces: list[str]) -> list[Chunk]:
    out: list[Chunk] = []
    for piece in pieces:
        out += parser.feed(piece)
    return out + parser.finish()


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextDelta))


def test_render_is_chatml_and_a_continuation_extends_the_turn_before() -> None:
    first = Prompt("Be brief.", (TOOL,), (user_message("fix it"),))
    text = chat.render(first)
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert '"name": "run_tests"' in text
    assert text.endswith("<|im_start|>user\nfix it<|im_end|>\n<|im_start|>assistant\n")
    reply = assistant_message("Calling the tests.")
    call = FunctionCall("c1", "run_tests", "{}")
    later = Prompt(
        "Be brief.",
        (TOOL,),
        (
            *first.items,
            reply,
            call,
            FunctionCallOutput("c1", "1 failed"),
            FunctionCallOutput("c2", "2 passed"),
        ),
    )
    later_text = chat.render(later)
    assert later_text.startswith(chat.render_prefix(first))
    # The reply and its call share one assistant block, the two outputs one user block.
    assert (
        "<|im_start|>assistant\nCalling the tests.\n<tool_call>\n"
        '{"name": "run_tests", "arguments": {}}\n</tool_call><|im_end|>\n'
    ) in later_text
    assert later_text.count("<tool_response>") == 2
    assert later_text.count("<|im_start|>user\n<tool_response>") == 1


def test_render_without_instructions_or_tools_has_no_system_block() -> None:
    text = chat.render(Prompt(None, (), (user_message("hi"),)))
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_parser_streams_text_and_extracts_a_call_split_anywhere() -> None:
    raw = 'Running them.\n<tool_call>\n{"name": "run_tests", "arguments": {"k": 1}}\n</tool_call>'
    for size in (1, 2, 3, 7, len(raw)):
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        chunks = feed_all(ToolCallParser(["run_tests"]), pieces)
        assert text_of(chunks) == "Running them."
        calls = [c for c in chunks if isinstance(c, CallStart)]
        assert [c.name for c in calls] == ["run_tests"]
        args = "".join(c.arguments for c in chunks if isinstance(c, CallDelta))
        assert json.loads(args) == {"k": 1}


def test_parser_streams_plain_text_without_waiting_for_the_end() -> None:
    parser = ToolCallParser(["run_tests"])
    assert text_of(parser.feed("Hello there, ")) == "Hello there,"
    assert text_of(parser.feed("world <tool")) == " world"  # "<tool" might open a call
    assert text_of(parser.feed("s are fine\n")) == " <tools are fine"
    assert text_of(parser.feed("<")) == ""
    assert text_of(parser.finish()) == "\n<"


@pytest.mark.parametrize(
    "body",
    [
        "{not json}",
        '{"name": "rm_rf", "arguments": {}}',  # a tool the request did not offer
        '{"arguments": {}}',
        '["run_tests"]',
        '{"name": "run_tests", "arguments": "not json either"}',
        # JSON the client could not read, or our socket could not send (a lone surrogate):
        '{"name": "run_tests", "arguments": {"x": NaN}}',
        '{"name": "run_tests", "arguments": {"x": "\\ud800"}}',
        '{"name": "run_tests", "arguments": "{\\"x\\": \\"\\\\udc00\\"}"}',
    ],
)
def test_a_malformed_call_comes_back_as_the_text_the_model_wrote(body: str) -> None:
    raw = f"<tool_call>{body}</tool_call>"
    chunks = feed_all(ToolCallParser(["run_tests"]), [raw])
    assert not any(isinstance(c, CallStart) for c in chunks)
    assert text_of(chunks) == raw


def test_a_call_left_open_at_the_end_is_still_read() -> None:
    chunks = feed_all(ToolCallParser(["run_tests"]), ['<tool_call>\n{"name": "run_tests"}'])
    assert [c.name for c in chunks if isinstance(c, CallStart)] == ["run_tests"]
    chunks = feed_all(ToolCallParser(["run_tests"]), ["<tool_call>\n{"])
    assert text_of(chunks) == "<tool_call>\n{"


def test_arguments_written_as_a_json_string_are_accepted() -> None:
    raw = '<tool_call>{"name": "run_tests", "arguments": "{\\"x\\": 2}"}</tool_call>'
    chunks = feed_all(ToolCallParser(["run_tests"]), [raw])
    assert [json.loads(c.arguments) for c in chunks if isinstance(c, CallDelta)] == [{"x": 2}]


def test_text_after_a_call_starts_at_its_first_word() -> None:
    call = '<tool_call>{"name": "run_tests", "arguments": {}}</tool_call>'
    chunks = feed_all(ToolCallParser(["run_tests"]), [call, "\n", "\nDone", " now."])
    assert isinstance(chunks[0], CallStart)
    assert text_of(chunks) == "Done now."


@pytest.mark.parametrize("arguments", ['{"path": "\\ud800"}', '{"n": Infinity}', "[" * 100_000])
def test_a_call_in_the_history_with_unencodable_arguments_renders_as_written(
    arguments: str,
) -> None:
    text = chat.call_text("run_tests", arguments)
    text.encode("utf-8")  # text the tokenizer can take
    body = text.removeprefix(chat.CALL_OPEN).removesuffix(chat.CALL_CLOSE)
    assert json.loads(body) == {"name": "run_tests", "arguments": arguments}
