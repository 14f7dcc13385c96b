"""Where settings come from: a JSON file and the process environment.

Each source returns a plain mapping of setting name to raw value. Values from the environment
are strings; values from the file keep their JSON types. Unknown names are rejected here
rather than silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from appconfig.defaults import DEFAULTS
from appconfig.errors import ConfigError

ENV_PREFIX = "APP_"


def from_file(path: Path) -> dict[str, object]:
    """The settings in the JSON object stored at ``path``; a missing file gives none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(data).__name__}")
    _check_names(data, str(path))
    return data


def from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    """The settings given as ``APP_<NAME>`` variables, e.g. ``APP_RETRIES=5`` sets ``retries``."""
    found: dict[str, object] = {}
    for variable, value in environ.items():
        if variable.startswith(ENV_PREFIX):
            found[variable.removeprefix(ENV_PREFIX).lower()] = value
    _check_names(found, "environment")
    return found


def _check_names(data: Mapping[str, object], origin: str) -> None:
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(unknown)}")
