"""The one exception tree of codeagent.

Dependency failures (``websockets``, ``httpx``, ``OSError``) are translated into this tree at the
I/O boundary, so callers above ``transport/`` and ``server/`` catch these and nothing else::

    CodeagentError
    ├── ProtocolError          wire data that breaks the Responses protocol
    │   ├── InvalidRequest     a request a server must refuse (carries an ``ErrorInfo``)
    │   └── StreamError        a server event stream out of order or malformed (client side)
    ├── ApiError               the other end answered an error (carries an ``ErrorInfo``)
    │   ├── PreviousResponseNotFound
    │   ├── ContextLengthExceeded
    │   └── ConnectionLimitReached
    ├── TransportError         the connection itself failed
    │   ├── ConnectFailed      could not connect at all
    │   ├── UpgradeRefused     the HTTP server refused the WebSocket upgrade
    │   └── ConnectionLost     the connection dropped while a turn was in flight
    ├── BackendError           the model backend failed while generating
    ├── ToolError              the agent's tools could not do what was asked
    │   ├── PatchError         a patch that does not parse or does not apply (nothing written)
    │   ├── WorkspaceError     the work copy cannot be made, read or written (or a path escapes)
    │   └── TestRunError       the test command cannot run at all
    └── ConfigError            settings that cannot work
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorInfo(NamedTuple):
    """An API error as the Responses API reports it.

    ``status`` is the HTTP status the error stands for (400 for every WebSocket-mode code).
    """

    status: int
    type: str
    code: str | None
    message: str
    param: str | None = None


class CodeagentError(Exception):
    """Base of every error codeagent raises on purpose."""


class ProtocolError(CodeagentError):
    """Wire data that breaks the Responses protocol."""


class InvalidRequest(ProtocolError):
    """A request the server refuses; ``info`` is what goes back on the wire."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


class StreamError(ProtocolError):
    """A server event stream that is out of order or malformed."""


class ApiError(CodeagentError):
    """The other end answered with an error event or an HTTP error status."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(f"{info.code or info.type}: {info.message}")
        self.info = info


class PreviousResponseNotFound(ApiError):
    """``previous_response_id`` is unknown to the server (or was evicted)."""


class ContextLengthExceeded(ApiError):
    """The prompt does not fit the model's context window; the previous response is still
    there, so a shorter continuation (a compacted history) can follow."""


class ConnectionLimitReached(ApiError):
    """The server ended the connection at its lifetime limit."""


class TransportError(CodeagentError):
    """The connection failed."""


class ConnectFailed(TransportError):
    """Could not connect."""


class UpgradeRefused(TransportError):
    """The server answered the WebSocket upgrade with an HTTP status instead of 101."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(f"WebSocket upgrade refused with HTTP {status} {message}".rstrip())
        self.status = status


class ConnectionLost(TransportError):
    """The connection dropped while a turn was in flight."""


class BackendError(CodeagentError):
    """The model backend failed while generating."""


class ToolError(CodeagentError):
    """The agent's tools could not do what was asked; the message says what, for the model or
    the user."""


class PatchError(ToolError):
    """A patch that does not parse or does not apply; no file was changed."""


class WorkspaceError(ToolError):
    """The work copy cannot be made, read or written, or a path leaves it."""


class TestRunError(ToolError):
    """The test command cannot run at all (no interpreter, no pytest, a usage error)."""


class ConfigError(CodeagentError):
    """Settings that cannot work."""


def api_error(info: ErrorInfo) -> ApiError:
    """The most specific ``ApiError`` for ``info``."""
    if info.code == "previous_response_not_found":
        return PreviousResponseNotFound(info)
    if info.code == "context_length_exceeded":
        return ContextLengthExceeded(info)
    if info.code == "websocket_connection_limit_reached":
        return ConnectionLimitReached(info)
    return ApiError(info)
