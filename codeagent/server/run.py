"""Running the app under uvicorn: in the foreground (``codeagent serve``) or in a thread (tests,
benchmarks) on an ephemeral port. uvicorn's protocols come with the guards of ``protocols.py``:
a deadline for each request head (``handshake_timeout``) and keepalive pings (``ping_interval``,
``ping_timeout``) that drop a peer which stopped answering, or reading."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from codeagent.errors import ConfigError
from codeagent.server.app import ResponsesServer
from codeagent.server.backend import Backend
from codeagent.server.config import ServerConfig
from codeagent.server.protocols import GuardedWebSocketProtocol, http_protocol


def uvicorn_server(
    backend: Backend, config: ServerConfig, app: ASGIApp | None = None
) -> uvicorn.Server:
    """Our server for ``backend``; or, given ``app``, that ASGI app (a fake upstream in tests)."""
    app = app or ResponsesServer(backend, config).app()
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            http=http_protocol(config.handshake_timeout),
            ws=GuardedWebSocketProtocol,
            ws_max_size=config.max_frame_bytes,
            ws_per_message_deflate=True,
            ws_ping_interval=config.ping_interval,
            ws_ping_timeout=config.ping_timeout,
            log_level="warning",
            lifespan="off",
        )
    )


def serve(backend: Backend, config: ServerConfig, announce: Callable[[int], None]) -> None:
    """Serve in the foreground until interrupted; ``announce(port)`` once listening."""
    server = uvicorn_server(backend, config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        # uvicorn exposes only a ``started`` flag, no event to await.
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if server.started:
            announce(bound_port(server))
        await task

    asyncio.run(run())
    if not server.started:
        raise ConfigError(f"could not listen on {config.host}:{config.port}")


def bound_port(server: uvicorn.Server) -> int:
    sockets = [s for srv in server.servers for s in (srv.sockets or ())]
    return int(sockets[0].getsockname()[1])


class BackgroundServer:
    """The server on its own thread and event loop; ``with BackgroundServer(...) as s: s.url``.

    Give ``port=0`` in the config for an ephemeral port; ``port`` is the one really bound.
    """

    def __init__(self, backend: Backend, config: ServerConfig, app: ASGIApp | None = None) -> None:
        self._server = uvicorn_server(backend, config, app)
        self._server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._run, name="codeagent-serve", daemon=True)
        self.host = config.host
        self.port = config.port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/responses"

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise ConfigError(f"server failed to start on {self.host}:{self.port}")
            self._thread.join(0.01)
        self.port = bound_port(self._server)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(10)
