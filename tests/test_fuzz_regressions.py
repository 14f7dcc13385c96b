"""Defects the live-server fuzz (benchmarks/fuzz_server.py) found, each pinned (real sockets)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def uvicorn_log() -> Iterator[Records]:
    """What uvicorn's protocols log (its logger does not propagate to the root one). Enter it
    after building the server: uvicorn's logging setup drops the handlers it finds."""
    handler = Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_text_frame_with_invalid_utf8_closes_1007_without_a_traceback() -> None:
    """RFC 6455, section 8.1: the connection fails with 1007. A client's bad bytes are not a
    server fault, so the log gets no traceback (uvicorn logged one with ERROR for each)."""

    async def run(url: str) -> int | None:
        async with connect(url) as ws:
            payload = b'{"type":"response.create","input":"\xc3\x28"}'
            await ws.send(payload, text=True)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd.code if closed.value.rcvd else None

    async def still_serves(url: str) -> str:
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi"}))
            while (event := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] not in (
                "response.completed",
                "error",
            ):
                pass
            return str(event["type"])

    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server, uvicorn_log() as log:
        assert asyncio.run(run(server.ws_url)) == 1007
        assert asyncio.run(still_serves(server.ws_url)) == "response.completed"
    assert [r.getMessage() for r in log.records if r.exc_info] == []
    assert [r.getMessage() for r in log.records if r.levelno >= logging.ERROR] == []
