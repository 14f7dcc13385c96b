"""The ASGI app: ``/v1/responses`` over HTTP (SSE or JSON) and WebSocket; models; health.

HTTP errors before a stream starts are an HTTP status with ``{"error": {...}}``; errors inside an
SSE stream are flat ``error`` events; WebSocket errors use the nested envelope (PROTOCOL.md).
Before any route, ``OriginGuard`` refuses browser pages of other sites and DNS-rebinding names
(``origin.py``), the WebSocket upgrade included.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Mapping

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from codeagent.errors import ConnectionLost, ErrorInfo, InvalidRequest
from codeagent.protocol import wire
from codeagent.protocol.events import ErrorEvent, ResponseEvent, ServerEvent, encode_event
from codeagent.protocol.request import CreateRequest
from codeagent.protocol.session import HttpExchange
from codeagent.protocol.store import ResponseStore
from codeagent.server.backend import Backend
from codeagent.server.config import ServerConfig
from codeagent.server.connection import serve_connection
from codeagent.server.origin import OriginPolicy
from codeagent.server.turn import turn_events


def error_body(info: ErrorInfo) -> dict[str, object]:
    return {
        "error": {
            "message": info.message,
            "type": info.type,
            "param": info.param,
            "code": info.code,
        }
    }


def error_response(info: ErrorInfo) -> JSONResponse:
    return JSONResponse(error_body(info), status_code=info.status)


UNAUTHORIZED = ErrorInfo(
    401, "invalid_request_error", "invalid_api_key", "Incorrect or missing API key."
)


def too_many_connections(limit: int) -> JSONResponse:
    """503 with ``Retry-After``: the server is at ``limit`` connections (``max_connections``)."""
    info = ErrorInfo(
        503,
        "server_error",
        "too_many_connections",
        f"The server has {limit} connections open (the limit, --max-connections); "
        "try again shortly.",
    )
    response = error_response(info)
    response.headers["Retry-After"] = "1"
    return response


class OriginGuard:
    """ASGI middleware: a request or WebSocket upgrade that ``policy`` refuses gets its error
    (403, or 400 for a bad ``Host``) before any route sees it. ``open_paths`` may be used from
    any page: their ``Origin`` is not checked, their ``Host`` still is."""

    def __init__(
        self, app: ASGIApp, policy: OriginPolicy, open_paths: Collection[str] = ()
    ) -> None:
        self.app = app
        self.policy = policy
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        hosts = [value.decode("latin-1") for name, value in headers if name == b"host"]
        origins = [value.decode("latin-1") for name, value in headers if name == b"origin"]
        if scope["path"] in self.open_paths:
            origins = []
        refusal = self.policy.refusal(hosts, origins, scope.get("http_version", "1.1"))
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
            # An upgrade is refused with a real HTTP status and body, as the 401 is.
            await error_response(refusal)(scope, receive, send)
        else:
            # Without the denial-response extension, closing before accepting is a bare 403.
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.code or ""})


class CountedStream(StreamingResponse):
    """A streamed response that calls ``on_end`` once it is over, however it ends (the client
    gone before the first byte included), so the server's count of streams cannot leak."""

    def __init__(
        self,
        content: AsyncIterator[str],
        on_end: Callable[[], None],
        media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_end()


class StarletteChannel:
    """``Channel`` over a Starlette WebSocket, translating its failures to ``ConnectionLost``."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def receive(self) -> str | bytes:
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc
        if message["type"] == "websocket.disconnect":
            raise ConnectionLost(f"client closed with code {message.get('code')}")
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def send(self, text: str) -> None:
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc

    async def close(self, code: int, reason: str = "") -> None:
        with contextlib.suppress(RuntimeError, OSError):
            await self.websocket.close(code, reason or None)


class ResponsesServer:
    """The routes, bound to one backend, one config and one server-wide response store."""

    def __init__(self, backend: Backend, config: ServerConfig) -> None:
        self.backend = backend
        self.config = config
        self.store = ResponseStore(config.store_capacity)
        self.policy = OriginPolicy.for_server(config.host, config.allowed_origins)
        self.connections = 0
        """Open WebSocket connections."""
        self.http_streams = 0
        """HTTP ``/v1/responses`` requests in flight (a streamed one until its stream ends)."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/responses", self.create_http, methods=["POST"]),
                WebSocketRoute("/v1/responses", self.create_ws),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            middleware=[Middleware(OriginGuard, policy=self.policy, open_paths=("/health",))],
        )

    def _authorized(self, authorization: str | None) -> bool:
        if self.config.api_key is None:
            return True
        expected = f"Bearer {self.config.api_key}".encode()
        return hmac.compare_digest((authorization or "").encode(), expected)

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "backend": self.backend.name,
                "connections": self.connections,
                "http_streams": self.http_streams,
                "max_connections": self.config.max_connections,
            }
        )

    def _full(self) -> bool:
        return self.connections + self.http_streams >= self.config.max_connections

    async def models(self, request: Request) -> Response:
        if not self._authorized(request.headers.get("authorization")):
            return error_response(UNAUTHORIZED)
        model = {"id": self.backend.model, "object": "model", "created": 0, "owned_by": "codeagent"}
        return JSONResponse({"object": "list", "data": [model]})

    async def create_ws(self, websocket: WebSocket) -> None:
        if not self._authorized(websocket.headers.get("authorization")):
            # Refuse the upgrade with a real HTTP 401 where the server supports it.
            await websocket.send_denial_response(error_response(UNAUTHORIZED))
            return
        if self._full():
            await websocket.send_denial_response(too_many_connections(self.config.max_connections))
            return
        # Counted before the first await, so concurrent upgrades cannot all pass the check.
        self.connections += 1
        try:
            await websocket.accept()
            await serve_connection(
                StarletteChannel(websocket), self.backend, self.store, self.config.limits
            )
        finally:
            self.connections -= 1

    async def create_http(self, request: Request) -> Response:
        if not self._authorized(request.headers.get("authorization")):
            return error_response(UNAUTHORIZED)
        if self._full():
            return too_many_connections(self.config.max_connections)
        self.http_streams += 1
        streaming = False
        try:
            response = await self._create_http(request)
            streaming = isinstance(response, CountedStream)
            return response
        finally:
            if not streaming:  # a stream is counted until it ends (``CountedStream``)
                self.http_streams -= 1

    def _stream_ended(self) -> None:
        self.http_streams -= 1

    async def _create_http(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > self.config.max_frame_bytes:
            info = ErrorInfo(
                413, "invalid_request_error", "request_too_large", "Request body is too large."
            )
            return error_response(info)
        try:
            obj = wire.decode_object(body)
            create = CreateRequest.from_json(obj)
            exchange = HttpExchange(self.store)
            turn = exchange.begin(create)
        except InvalidRequest as exc:
            return error_response(exc.info)
        events = turn_events(self.backend, turn, None, exchange)
        # The first event tells whether the backend took the prompt: a refusal (a prompt over
        # the context window) is an HTTP status, as OpenAI answers it, not a stream.
        first = await anext(events)
        if isinstance(first, ErrorEvent):
            await events.aclose()
            return error_response(first.error)
        if obj.get("stream"):
            return CountedStream(
                _sse(first, events),
                self._stream_ended,
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        final = None
        async for event in _chained(first, events):
            if isinstance(event, ResponseEvent):
                final = event.response
        assert final is not None  # turn_events always ends with a terminal response event
        status = 500 if final.status == "failed" else 200
        return JSONResponse(final.to_json(), status_code=status)


async def _chained(
    first: ServerEvent, rest: AsyncGenerator[ServerEvent, None]
) -> AsyncGenerator[ServerEvent, None]:
    yield first
    async with contextlib.aclosing(rest):
        async for event in rest:
            yield event


async def _sse(first: ServerEvent, rest: AsyncGenerator[ServerEvent, None]) -> AsyncIterator[str]:
    """Each event as ``event: TYPE`` + ``data: JSON`` (a failure mid-stream is
    ``response.failed``, so no flat ``error`` event is needed here)."""
    async with contextlib.aclosing(_chained(first, rest)) as events:
        async for event in events:
            yield f"event: {event.type}\ndata: {encode_event(event)}\n\n"
