"""HTTP+SSE transport over ``httpx``: each ``response.create`` frame becomes a streamed POST.

One keep-alive ``httpx.AsyncClient`` per transport, so the baseline is fair: no TCP or TLS
handshake per turn. ``receive`` returns each SSE event's ``data`` as the WebSocket would carry it;
an HTTP error status before the stream and a flat SSE ``error`` event both come back in the
WebSocket error envelope, so the client above handles one form.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from codeagent.errors import ConnectFailed, ConnectionLost
from codeagent.protocol import wire
from codeagent.protocol.sse import SseDecoder
from codeagent.transport.base import Connector, Transport, WireMeter


class HttpSseTransport:
    name = "http"
    connection_scoped = False
    supports_warmup = False

    def __init__(self, client: httpx.AsyncClient, url: str, meter: WireMeter) -> None:
        self._client = client
        self._url = url
        self.meter = meter
        self.opened_at = time.monotonic()
        self._response: httpx.Response | None = None
        self._chunks: Any = None
        self._events = SseDecoder()
        self._ready: list[str] = []

    async def send(self, text: str) -> None:
        body = json.loads(text)
        body.pop("type", None)
        body.pop("generate", None)
        body["stream"] = True
        content = wire.encode(body).encode()
        request = self._client.build_request(
            "POST",
            self._url,
            content=content,
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
            extensions={"trace": self._trace},
        )
        self.meter.bytes_sent += _head_size(request) + len(content)
        await self._finish_response()
        try:
            response = await self._client.send(request, stream=True)
        except httpx.ConnectError as exc:
            raise ConnectFailed(f"cannot connect to {self._url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ConnectionLost(f"POST {self._url} failed: {exc}") from exc
        self.meter.bytes_received += _status_size(response)
        if response.status_code >= 400:
            raw = await response.aread()
            self.meter.bytes_received += len(raw)
            await response.aclose()
            self._ready.append(_error_frame(response.status_code, raw))
            return
        self._response = response
        self._chunks = response.aiter_raw()

    async def receive(self) -> str:
        while not self._ready:
            await self._read_more()
        return self._ready.pop(0)

    async def close(self) -> None:
        await self._finish_response()
        await self._client.aclose()

    async def abort(self) -> None:
        # Not _finish_response: reading the rest of a stalled stream would wait for ever.
        if self._response is not None:
            await self._response.aclose()
        self._response = None
        self._chunks = None
        self._events.reset()
        await self._client.aclose()

    async def _read_more(self) -> None:
        if self._chunks is None:
            raise ConnectionLost("no response in progress")
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            await self._finish_response()
            raise ConnectionLost("the event stream ended before a terminal event") from None
        except httpx.HTTPError as exc:
            await self._finish_response()
            raise ConnectionLost(f"event stream broke: {exc}") from exc
        self.meter.bytes_received += len(chunk)
        for data in self._events.feed(chunk):
            if data != "[DONE]":
                self._ready.append(_normalise(data))

    async def _finish_response(self) -> None:
        """Read the rest of the stream (so the keep-alive connection is reused), then close."""
        if self._chunks is not None:
            try:
                async for chunk in self._chunks:
                    self.meter.bytes_received += len(chunk)
            except httpx.HTTPError:
                pass
        if self._response is not None:
            await self._response.aclose()
        self._response = None
        self._chunks = None
        self._events.reset()

    async def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.meter.handshakes += 1


def _normalise(data: str) -> str:
    """A flat SSE ``error`` event becomes the nested WebSocket envelope; others pass through."""
    try:
        obj = json.loads(data)
    except ValueError:
        return data
    if isinstance(obj, dict) and obj.get("type") == "error" and "error" not in obj:
        body = {k: obj.get(k) for k in ("code", "message", "param")}
        body["type"] = "server_error"
        return wire.encode({"type": "error", "status": 500, "error": body})
    return data


def _error_frame(status: int, raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        error = {"type": "http_error", "code": None, "message": raw.decode(errors="replace")}
    return wire.encode({"type": "error", "status": status, "error": error})


def _head_size(request: httpx.Request) -> int:
    line = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
    return len(line) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2


def _status_size(response: httpx.Response) -> int:
    line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    return len(line) + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2


def http_connector(
    base_url: str, *, api_key: str | None = None, timeout: float = 600.0
) -> Connector:
    """POST to ``{base_url}/responses`` (``base_url`` like ``http://127.0.0.1:8765/v1``)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = base_url.rstrip("/") + "/responses"

    async def open_connection(meter: WireMeter) -> Transport:
        # No request yet: the keep-alive TCP connection opens with the first POST, and the
        # trace hook counts it (and any reconnect) as a handshake.
        client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout, connect=10.0))
        return HttpSseTransport(client, url, meter)

    return open_connection
