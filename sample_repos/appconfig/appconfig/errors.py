"""The one exception the package raises."""


class ConfigError(ValueError):
    """A setting is unknown, malformed or out of range; the message names the setting and source."""
