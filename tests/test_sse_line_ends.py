"""SSE lines end only at CR, LF or CRLF, never at U+2028, U+2029 or U+0085.

Our server writes JSON with raw non-ASCII text, so those characters occur inside `data:` lines;
both readers of event streams (the HTTP+SSE client, and the upstream backend in
tests/test_upstream.py) must keep such a line whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codeagent.protocol.items import user_message
from codeagent.protocol.sse import SseDecoder
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector

SEPARATORS = "a\u2028b\u2029c\x85d\x1ce\x1df\x1eg\x0bh\x0ci"
"""Every character ``str.splitlines()`` splits on that the SSE format does not."""


def feed_bytewise(decoder: SseDecoder, stream: bytes) -> list[str]:
    return [d for i in range(len(stream)) for d in decoder.feed(stream[i : i + 1])]


def test_the_decoder_splits_lines_only_at_cr_and_lf() -> None:
    event = f'data: {{"text":"{SEPARATORS}"}}\n\n'.encode()
    assert SseDecoder().feed(event) == [f'{{"text":"{SEPARATORS}"}}']
    assert feed_bytewise(SseDecoder(), event) == [f'{{"text":"{SEPARATORS}"}}']


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_the_three_line_ends_whole_or_split_across_chunks(end: bytes) -> None:
    stream = end.join([b"event: x", b"data: one", b"data: two", b"", b"data: three", b"", b""])
    assert SseDecoder().feed(stream) == ["one\ntwo", "three"]
    assert feed_bytewise(SseDecoder(), stream) == ["one\ntwo", "three"]


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    assert SseDecoder().feed(b"data: \xff\xfeok\n\n") == ["\ufffd\ufffdok"]


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as running:
        yield running


async def test_the_http_client_reads_text_with_unicode_separators(
    server: BackgroundServer,
) -> None:
    config = ClientConfig(model="m")
    async with ResponsesClient(http_connector(server.base_url), config) as client:
        result = await client.turn([user_message(SEPARATORS)])
    assert result.response.output_text == "echo: " + SEPARATORS


def test_a_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SseDecoder()
    chunks = [b"data: a\r", b"\n", b"\n", b"data: b\r", b"", b"\n\r\n"]
    assert [d for c in chunks for d in decoder.feed(c)] == ["a", "b"]
