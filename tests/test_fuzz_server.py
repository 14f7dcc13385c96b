"""The live-server fuzz (benchmarks/fuzz_server.py) in small: a few hundred garbage frames on
real sockets beside a bystander's chain, with the same figures held at zero."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import httpx

from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "fuzz_server.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_server", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class Failures(logging.Handler):
    """Records logged with a traceback or at ERROR and above."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def failures_logged() -> Iterator[Failures]:
    """Enter after building the server: uvicorn's logging setup drops the handlers it finds."""
    handler = Failures()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_a_few_hundred_garbage_frames_leave_server_sockets_and_bystander_intact() -> None:
    fuzz = load_script()
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server, failures_logged() as log:
        figures = asyncio.run(fuzz.fuzz(server.ws_url, 300, 4, 7))
        health = httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=5)
    assert sum(figures.tried.values()) == 300
    assert figures.tried["oversize"] >= 1
    assert figures.tried["at_limit"] >= 1
    assert figures.error_events > 100  # the frames really were garbage
    assert figures.documented_closes[1009] == figures.tried["oversize"]
    assert figures.documented_closes[1007] == figures.tried["invalid_utf8"] > 0
    assert figures.unusable == []
    assert figures.bystander_turns >= 5
    assert figures.disturbed == []
    assert health.status_code == 200
    assert log.records == []
