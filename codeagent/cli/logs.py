"""Logging for the commands: secrets never reach a log line.

Debug logs include the websockets library's handshake (``> Authorization: Bearer sk-...``) and
whatever an exception's text carries; ``Redacting`` scrubs bearer tokens, and the exact keys it
was given, from every record that passes the handler it is attached to.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
REDACTED = "[redacted]"


class Redacting(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = self.scrub(text)
        if clean != text:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def debug_to_stderr(secrets: Iterable[str] = ()) -> Redacting:
    """Every logger at DEBUG on stderr, through a redacting handler; returns the filter, so
    keys learnt later (a provider's) can be added to it."""
    redacting = Redacting(secrets)
    logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    return redacting
