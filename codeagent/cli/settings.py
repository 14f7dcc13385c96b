"""Settings for ``codeagent serve``, merged once: defaults -> config file -> environment -> flags.

The config file is ``.codeagent.toml`` (table ``[serve]``) or ``pyproject.toml`` (table
``[tool.codeagent.serve]``) in the working directory. Environment variables are
``CODEAGENT_HOST``, ``CODEAGENT_PORT``, ``CODEAGENT_BACKEND``, ``CODEAGENT_API_KEY``,
``CODEAGENT_MODEL``, ``CODEAGENT_THREADS``, ``CODEAGENT_UPSTREAM_URL``,
``CODEAGENT_ALLOWED_ORIGINS``, ``CODEAGENT_MAX_CONNECTIONS``. A list setting
(``allowed_origins``) is a TOML list or a comma-separated string; a later source replaces it
whole.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

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

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
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


def read_config_file(directory: Path, table: str = "serve") -> dict[str, Any]:
    """``[table]`` of ``.codeagent.toml``, else ``[tool.codeagent.<table>]`` of
    ``pyproject.toml``, in ``directory``; ``{}`` if neither has it."""
    dotfile = directory / ".codeagent.toml"
    pyproject = directory / "pyproject.toml"
    try:
        if dotfile.is_file():
            return dict(tomllib.loads(dotfile.read_text()).get(table, {}))
        if pyproject.is_file():
            data = tomllib.loads(pyproject.read_text())
            return dict(data.get("tool", {}).get("codeagent", {}).get(table, {}))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read the codeagent config in {directory}: {exc}") from exc
    return {}


def merge(
    config_file: Mapping[str, Any], environ: Mapping[str, str], flags: Mapping[str, Any]
) -> ServeSettings:
    """Each later source overrides the earlier ones; ``None`` in ``flags`` means "not given"."""
    settings = merge_layers(ServeSettings(), _ENV, config_file, environ, flags)
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


S = TypeVar("S")


def merge_layers(
    defaults: S,
    env_names: Mapping[str, str],
    config_file: Mapping[str, Any],
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
) -> S:
    """``defaults`` (a settings dataclass) overridden by the config file, then the environment
    variables named in ``env_names`` (variable -> field), then the flags given (not ``None``)."""
    settings = defaults
    layers = [
        ("config file", dict(config_file)),
        ("environment", {env_names[k]: v for k, v in environ.items() if k in env_names and v}),
        ("flags", {k: v for k, v in flags.items() if v is not None}),
    ]
    for source, values in layers:
        settings = _apply(settings, values, source)
    return settings


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_KIND_NAMES: dict[type, str] = {tuple: "a list of strings"}


def _apply(settings: S, values: Mapping[str, Any], source: str) -> S:
    known = {f.name: f for f in fields(settings)}  # type: ignore[arg-type]
    blank = type(settings)()
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"unknown setting {key!r} in the {source}")
        default = getattr(blank, name)
        kind = type(default) if default is not None else str
        try:
            changes[name] = _convert(kind, value)
        except (TypeError, ValueError):
            kind_name = _KIND_NAMES.get(kind, kind.__name__)
            raise ConfigError(f"setting {key!r} in the {source} must be {kind_name}") from None
    return replace(settings, **changes)  # type: ignore[type-var]


def _convert(kind: type, value: Any) -> Any:
    if kind is tuple:
        # A TOML list or a repeated flag, or one string; each string may list several, by commas.
        items = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(item, str) for item in items):
            raise TypeError(items)
        return tuple(part.strip() for item in items for part in item.split(",") if part.strip())
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise ValueError(text)
        return text in _TRUE
    # Strings come as strings (never the text of a TOML list or table: ``str(["sk-..."])``
    # would quietly become an API key); numbers as numbers or their text, never a bool, and an
    # int never from a float that would be cut.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(type(value).__name__)
    if kind is str and not isinstance(value, str):
        raise TypeError(type(value).__name__)
    if kind is int and isinstance(value, float):
        raise TypeError("float")
    converted = kind(value)
    if kind is float and not math.isfinite(converted):
        raise ValueError("not finite")
    return converted
