"""Layered settings: built-in defaults, then a JSON file, then ``APP_*`` environment variables."""

from appconfig.errors import ConfigError
from appconfig.loader import load, save
from appconfig.settings import Settings

__all__ = ["ConfigError", "Settings", "load", "save"]
