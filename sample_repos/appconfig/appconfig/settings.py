"""The validated, typed ``Settings`` value and the coercion of raw values into it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from appconfig.defaults import DEFAULTS, LOG_LEVELS
from appconfig.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Everything the client needs; built by ``Settings.from_mapping`` or ``appconfig.load``."""

    base_url: str
    timeout_s: float
    retries: int
    verify_tls: bool
    log_level: str
    user_agent: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Settings:
        """Settings from raw values (JSON types or strings); absent names take their default.

        Raises ConfigError naming the first value that cannot be coerced or is out of range.
        """
        return cls(
            base_url=_url(data.get("base_url", DEFAULTS["base_url"])),
            timeout_s=_seconds("timeout_s", data.get("timeout", DEFAULTS["timeout_s"])),
            retries=_count("retries", data.get("retries", DEFAULTS["retries"])),
            verify_tls=_flag("verify_tls", data.get("verify_tls", DEFAULTS["verify_tls"])),
            log_level=_log_level(data.get("log_level", DEFAULTS["log_level"])),
            user_agent=str(data.get("user_agent", DEFAULTS["user_agent"])),
        )


def _url(value: object) -> str:
    text = str(value).rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url: not an http(s) URL: {value!r}")
    return text


def _seconds(name: str, value: object) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: not a number: {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name}: must be positive, got {number}")
    return number


def _count(name: str, value: object) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: not a whole number: {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name}: must not be negative, got {number}")
    return number


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}: not a yes/no value: {value!r}")


def _log_level(value: object) -> str:
    level = str(value).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"log_level: one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level
