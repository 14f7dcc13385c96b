"""The built-in value of every setting; these keys are the only ones a source may set."""

from __future__ import annotations

from types import MappingProxyType

DEFAULTS = MappingProxyType(
    {
        "base_url": "https://api.example.com",
        "timeout_s": 10.0,
        "retries": 3,
        "verify_tls": True,
        "log_level": "INFO",
        "user_agent": "appconfig/1.4",
    }
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
