"""WebSocket transport over ``websockets``: one persistent connection, frames counted as sent."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from codeagent.errors import ConnectFailed, ConnectionLost, UpgradeRefused
from codeagent.transport.base import Connector, Transport, WireMeter, frame_header_size


class WebSocketTransport:
    name = "websocket"
    connection_scoped = True
    supports_warmup = True

    def __init__(self, ws: ClientConnection, meter: WireMeter) -> None:
        self._ws = ws
        self.meter = meter
        self.opened_at = time.monotonic()

    async def send(self, text: str) -> None:
        payload = len(text.encode())
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise _lost(exc) from exc
        self.meter.bytes_sent += payload + frame_header_size(payload, masked=True)

    async def receive(self) -> str:
        try:
            message = await self._ws.recv()
        except ConnectionClosed as exc:
            raise _lost(exc) from exc
        text = message if isinstance(message, str) else message.decode()
        payload = len(message) if isinstance(message, bytes) else len(text.encode())
        self.meter.bytes_received += payload + frame_header_size(payload, masked=False)
        return text

    async def close(self) -> None:
        await self._ws.close()

    async def abort(self) -> None:
        self._ws.transport.abort()
        with contextlib.suppress(ConnectionClosed):
            await self._ws.wait_closed()


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    """What the user is told: who ended the connection, and how (RFC 6455 section 7.4)."""
    if exc.rcvd is not None:
        reason = f" ({exc.rcvd.reason})" if exc.rcvd.reason else ""
        return ConnectionLost(f"the server closed the connection with code {exc.rcvd.code}{reason}")
    if exc.sent is not None:
        return ConnectionLost(f"this client closed the connection with code {exc.sent.code}")
    return ConnectionLost("the server went away without a close frame")


def websocket_connector(
    url: str,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    max_size: int = 64 * 1024 * 1024,
    open_timeout: float = 10.0,
) -> Connector:
    """Connect to ``url`` (``ws://host:port/v1/responses``), with the key as a Bearer token."""
    extra = dict(headers or {})
    if api_key:
        extra["Authorization"] = f"Bearer {api_key}"

    async def open_connection(meter: WireMeter) -> Transport:
        try:
            ws = await connect(
                url,
                additional_headers=extra,
                max_size=max_size,
                compression=None,
                open_timeout=open_timeout,
                user_agent_header="codeagent",
            )
        except InvalidStatus as exc:
            raise UpgradeRefused(exc.response.status_code) from exc
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {url}: {exc}") from exc
        meter.handshakes += 1
        if ws.request is not None:
            meter.bytes_sent += len(ws.request.serialize())
        if ws.response is not None:
            meter.bytes_received += len(ws.response.serialize())
        return WebSocketTransport(ws, meter)

    return open_connection
