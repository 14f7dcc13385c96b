"""Which model the agent talks to, over which connection.

- ``--base-url``: any Responses endpoint; WebSocket mode first, HTTP+SSE if the upgrade is
  refused (or only HTTP with ``--transport http``).
- ``OPENAI_API_KEY`` set and no base URL: OpenAI itself.
- Otherwise the embedded default: ``codeagent serve``'s llama backend with the bundled model,
  started in this process on a free loopback port with a random API key, stopped at the end.
  The agent still speaks the protocol over a real connection.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from codeagent.cli.fix_settings import FixSettings
from codeagent.errors import ConfigError
from codeagent.transport.base import Connector
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.websocket import websocket_connector

OPENAI_BASE = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4.1-mini"


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    """``embedded``, ``openai``, or the base URL."""
    base_url: str
    model: str
    """Empty: ask the endpoint (``transport.models.first_model``)."""
    api_key: str | None
    embedded: bool

    def client(self, transport: str, model: str, *, idle_timeout: float = 120.0) -> ResponsesClient:
        ws_url = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        http = http_connector(self.base_url, api_key=self.api_key)
        connect: Connector
        fallback: Connector | None
        if transport == "http":
            connect, fallback = http, None
        else:
            connect = websocket_connector(ws_url.rstrip("/") + "/responses", api_key=self.api_key)
            fallback = http
        config = ClientConfig(model=model, idle_timeout=idle_timeout)
        return ResponsesClient(connect, config, fallback=fallback)

    def __repr__(self) -> str:  # the key never shows
        return (
            f"Provider({self.name!r}, model={self.model!r}, key={'set' if self.api_key else None})"
        )


@contextlib.contextmanager
def open_provider(settings: FixSettings, environ: Mapping[str, str]) -> Iterator[Provider]:
    key = environ.get("OPENAI_API_KEY") or None
    if settings.base_url:
        if not settings.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"--base-url must be an http(s) URL, not {settings.base_url!r}")
        yield Provider(settings.base_url, settings.base_url, settings.model, key, False)
        return
    if key:
        yield Provider("openai", OPENAI_BASE, settings.model or OPENAI_DEFAULT_MODEL, key, False)
        return
    with _embedded(settings) as provider:
        yield provider


@contextlib.contextmanager
def _embedded(settings: FixSettings) -> Iterator[Provider]:
    try:
        from codeagent.server.llama import LlamaBackend, LlamaSettings  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(
            f"the embedded model needs llama-cpp-python ({exc.name} is missing): install "
            "codeagent with its 'local' extra, or give --base-url or OPENAI_API_KEY"
        ) from exc
    from codeagent.server.config import ServerConfig  # noqa: PLC0415
    from codeagent.server.run import BackgroundServer  # noqa: PLC0415

    # One connection: one KV cache of 8,192 tokens (180 MiB for the bundled model).
    backend = LlamaBackend(
        LlamaSettings(model_path=None, threads=settings.threads or None, cache_mb=200)
    )
    key = secrets.token_urlsafe(24)
    try:
        with BackgroundServer(backend, ServerConfig(port=0, api_key=key)) as server:
            yield Provider("embedded", server.base_url, backend.model, key, True)
    finally:
        backend.close()
