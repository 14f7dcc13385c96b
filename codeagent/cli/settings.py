"""Settings for ``codeagent serve``, merged once: defaults -> user config -> project config ->
environment -> flags (``config_layers`` says how, and which settings a project may not set).

The user config is ``~/.config/codeagent/config.toml`` (table ``[serve]``); the project config is
``.codeagent.toml`` (table ``[serve]``) or ``pyproject.toml`` (table ``[tool.codeagent.serve]``)
in the working directory. Environment variables are ``CODEAGENT_HOST``, ``CODEAGENT_PORT``,
``CODEAGENT_BACKEND``, ``CODEAGENT_API_KEY``, ``CODEAGENT_MODEL``, ``CODEAGENT_THREADS``,
``CODEAGENT_UPSTREAM_URL``, ``CODEAGENT_ALLOWED_ORIGINS``, ``CODEAGENT_MAX_CONNECTIONS``. A list
setting (``allowed_origins``) is a TOML list or a comma-separated string; a later source replaces
it whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codeagent.cli.config_layers import (
    NOT_A_SETTING,
    Layer,
    Provenance,
    environment_layer,
    flags_layer,
    merge_layers,
    merge_sources,
    setting_names,
)
from codeagent.errors import ConfigError
from codeagent.server.origin import normalise_origins


@dataclass(frozen=True, slots=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    backend: str = "auto"
    """``auto``: ``upstream`` when an upstream URL is set, else ``llama``."""
    api_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    """Browser pages let in besides local ones: ``scheme://host[:port]`` entries, or ``*``."""
    max_frame_bytes: int = 16 * 1024 * 1024
    max_connection_seconds: float = 3600.0
    max_responses_per_connection: int = 16
    store_capacity: int = 1024
    handshake_timeout: float = 10.0
    """Seconds a client has to send a whole request head (slowloris guard)."""
    ping_interval: float = 20.0
    """Seconds between keepalive pings on a WebSocket connection."""
    ping_timeout: float = 20.0
    """Seconds a pong may take before the connection is dropped."""
    max_connections: int = 256
    """WebSocket connections plus HTTP responses in flight; beyond it, HTTP 503 (the upgrade
    included) with ``Retry-After``."""
    token_delay: float = 0.0
    """Echo backend only: seconds per output token, to watch streaming."""
    script: str | None = None
    """Scripted backend only: the JSON file of steps it plays (tests of the agent)."""
    model: str | None = None
    """Llama backend: a GGUF file (default: the bundled SmolLM2-135M-Instruct)."""
    threads: int = 0
    """Llama backend: compute threads (0: the cores this process may use)."""
    ctx: int = 8192
    """Llama backend: tokens per KV cache."""
    cache_mb: int = 1024
    """Llama backend: memory for the per-connection KV caches."""
    http_slots: int = 1
    """Llama backend: KV caches shared by HTTP requests (0: none kept between requests)."""
    seed: int = 0
    """Llama backend: sampling seed when a request's metadata has none."""
    max_output_tokens: int = 512
    """Llama backend: reply length when a request does not say."""
    upstream_url: str | None = None
    """Upstream backend: an OpenAI-compatible base URL (``.../v1``)."""
    upstream_model: str | None = None
    """Upstream backend: the model to ask for (default: the one each request names)."""
    upstream_key_env: str = "OPENAI_API_KEY"
    """Upstream backend: the environment variable holding its API key."""
    provenance: Provenance = field(
        default_factory=Provenance, compare=False, metadata=NOT_A_SETTING
    )
    """Where each setting came from (not a setting)."""

    def __repr__(self) -> str:
        shown = {name: getattr(self, name) for name in setting_names(self)}
        shown["api_key"] = "set" if self.api_key else None
        return f"ServeSettings({shown})"


_ENV = {
    "CODEAGENT_HOST": "host",
    "CODEAGENT_PORT": "port",
    "CODEAGENT_BACKEND": "backend",
    "CODEAGENT_API_KEY": "api_key",
    "CODEAGENT_MODEL": "model",
    "CODEAGENT_THREADS": "threads",
    "CODEAGENT_UPSTREAM_URL": "upstream_url",
    "CODEAGENT_ALLOWED_ORIGINS": "allowed_origins",
    "CODEAGENT_MAX_CONNECTIONS": "max_connections",
}

GUARDED = {
    "host": "binding beyond loopback would open the server to the network",
    "api_key": "it would choose the key clients must show (a known one, or none)",
    "allowed_origins": "it would let web pages past the origin check",
    "upstream_url": "it would send every prompt, and the upstream key, to its server",
    "upstream_key_env": "it would choose which of your environment variables is sent upstream",
    "model": "it would choose the model file loaded into this process and speaking to clients",
    "script": "it would choose the replies served as the model's",
}
"""Settings of ``[serve]`` that the working directory's own config may not set (unless
trusted), and why. The others (port, backend, sizes, limits, timeouts) shape how the server
serves its clients, who are the user's own while host, key and origins are the user's."""


def merge_serve(
    directory: Path,
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    *,
    trust: bool | None = None,
) -> ServeSettings:
    """The settings of ``codeagent serve`` run in ``directory``; each setting's source, and the
    guarded ones the directory's config set and that were ignored, in ``provenance``."""
    settings, provenance = merge_sources(
        ServeSettings(),
        table="serve",
        project=directory,
        environ=environ,
        flags=flags,
        env_names=_ENV,
        guarded=GUARDED,
        trust=trust,
    )
    return replace(_checked(settings), provenance=provenance)


def merge(
    config_file: Mapping[str, Any], environ: Mapping[str, str], flags: Mapping[str, Any]
) -> ServeSettings:
    """``config_file`` (a table of the user's, taken whole), the environment and the flags; each
    later source overrides the earlier ones; ``None`` in ``flags`` means "not given"."""
    layers = [Layer("config file", config_file), environment_layer(_ENV, environ)]
    settings, sources = merge_layers(ServeSettings(), [*layers, flags_layer(flags)])
    return replace(_checked(settings), provenance=Provenance(sources))


def _checked(settings: ServeSettings) -> ServeSettings:
    if not 0 <= settings.port < 65536:
        raise ConfigError(f"port must be between 0 and 65535, not {settings.port}")
    for name in ("ctx", "cache_mb", "max_output_tokens", "max_connections"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name.replace('_', '-')} must be positive")
    for name in ("handshake_timeout", "ping_interval", "ping_timeout"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name.replace('_', '-')} must be positive")
    for name in ("threads", "http_slots"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name.replace('_', '-')} must not be negative")
    return replace(settings, allowed_origins=normalise_origins(settings.allowed_origins))
