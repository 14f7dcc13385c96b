"""uvicorn's HTTP and WebSocket protocols with the two guards they lack (``run.py`` uses these).

- ``GuardedH11Protocol``: every request head (a WebSocket upgrade included) must arrive whole
  within ``head_timeout`` seconds; a slower one gets ``408`` and the connection closes.
- ``GuardedWebSocketProtocol``: when a keepalive ping goes unanswered the connection really ends,
  even if the peer stopped reading; a text message that is not UTF-8 closes it with 1007 and
  no traceback in the log.

Both are uvicorn's own classes with a timer added, so framing, flow control and the ASGI
interface stay uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head.

    uvicorn times out only a kept-alive connection that sends nothing after a response, and any
    byte cancels that timer: a client that sends its head one byte at a time (slowloris), or
    connects and sends nothing, holds the connection for as long as it likes. Here the head must
    be complete ``head_timeout`` seconds after the connection opens or the previous response
    ends. A partial head is answered ``408 Request Timeout``; silence is simply closed.
    """

    head_timeout: ClassVar[float] = 10.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request head has the same time

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the head is complete; the WebSocket protocol takes over
        super().handle_websocket_upgrade(event)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        # h11 leaves IDLE only once a whole request head has been parsed.
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        partial, _ = self.conn.trailing_data
        if partial:
            body = f"The request head did not arrive within {self.head_timeout:g} s.\n".encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        self.transport.close()


def http_protocol(head_timeout: float) -> type[GuardedH11Protocol]:
    """``GuardedH11Protocol`` with this ``head_timeout`` (uvicorn builds protocols itself)."""

    class Configured(GuardedH11Protocol):
        pass

    Configured.head_timeout = head_timeout
    return Configured


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets (sans-I/O) protocol whose keepalive timeout ends the connection.

    At a ping timeout uvicorn writes a close frame (1011) and calls ``transport.close()``, which
    waits for the write buffer to drain. A peer that stopped reading never drains it: the
    connection, its application task and all it holds stay forever, and the task's ``send``
    waits forever for a buffer that never empties. As the websockets library does after its
    close timeout, the peer gets ``ping_timeout`` more seconds to take the close frame, then the
    transport is aborted: the application sees the disconnect and frees the connection.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._abort_timer: asyncio.TimerHandle | None = None

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self._abort_timer = self.loop.call_later(self.ping_timeout or 0.0, self._abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        super().connection_lost(exc)

    def send_receive_event_to_app(self) -> None:
        """RFC 6455, section 8.1: a text message that is not UTF-8 fails the connection (1007).
        uvicorn does that too, but logs it with a traceback at ERROR; a client's bad bytes are
        not a server fault, so here they are one INFO line."""
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError as exc:
                self.frames = []
                self.logger.info(
                    "Closed a WebSocket with 1007: a text message is not UTF-8 (%s)", exc
                )
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
            self.frames = [data]
        super().send_receive_event_to_app()

    def _abort(self) -> None:
        self._abort_timer = None
        if not self.disconnected:
            self.transport.abort()
