"""Loading settings from all sources at once, and saving them back to a file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from appconfig.settings import Settings
from appconfig.sources import from_environment, from_file

DEFAULT_PATH = Path("appconfig.json")


def load(path: Path = DEFAULT_PATH, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``path`` overridden by ``environ`` (``os.environ`` when None).

    Later sources win name by name; names no source sets keep their default.
    """
    merged: dict[str, object] = {}
    merged.update(from_file(path))
    merged.update(from_environment(os.environ if environ is None else environ))
    return Settings.from_mapping(merged)


def save(settings: Settings, path: Path) -> None:
    """Write ``settings`` to ``path`` as JSON that ``load`` reads back unchanged."""
    text = json.dumps(asdict(settings), indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
