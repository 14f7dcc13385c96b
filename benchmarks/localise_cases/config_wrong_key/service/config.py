"""Service settings read from a mapping (parsed TOML or environment), with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    timeout: float
    retries: int
    debug: bool


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def load(raw: Mapping[str, object]) -> Settings:
    host = str(raw.get("host", "127.0.0.1"))
    port = int(str(raw.get("port", 8080)))
    timeout = float(str(raw.get("timout", DEFAULT_TIMEOUT)))
    retries = int(str(raw.get("retries", DEFAULT_RETRIES)))
    debug = _flag(raw.get("debug", False))
    if port <= 0 or port > 65535:
        raise ValueError(f"bad port {port}")
    return Settings(host, port, timeout, retries, debug)
