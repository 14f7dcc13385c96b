"""Settings for ``codeagent fix``, merged once: defaults -> user config -> project config ->
environment -> flags (``config_layers`` says how, and which settings a project may not set).

The user config is ``~/.config/codeagent/config.toml`` (table ``[fix]``); the project config is
the project's ``.codeagent.toml`` (table ``[fix]``) or ``pyproject.toml``
(``[tool.codeagent.fix]``). Environment: ``CODEAGENT_BASE_URL``, ``CODEAGENT_FIX_MODEL``,
``CODEAGENT_STRATEGY``, ``CODEAGENT_TEST_CMD``, ``CODEAGENT_PYTHON``, ``CODEAGENT_IDLE_TIMEOUT``,
``CODEAGENT_SANDBOX``.
The OpenAI key is read from ``OPENAI_API_KEY`` when it is used, and is never a setting (so never
printed).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codeagent.cli.config_layers import NOT_A_SETTING, Provenance, merge_sources, setting_names
from codeagent.errors import ConfigError

STRATEGIES = ("auto", "guided", "tools")
SANDBOXES = ("auto", "bubblewrap", "off")
TRANSPORTS = ("ws", "http")


@dataclass(frozen=True, slots=True)
class FixSettings:
    test_cmd: str = ""
    """The test command; empty: ``python -m pytest`` with the repository's interpreter."""
    python: str = ""
    """The repository's interpreter; empty: a ``.venv``/``venv`` in the repo, else ours."""
    strategy: str = "auto"
    """``auto``: ``guided`` with the embedded model, ``tools`` with any other."""
    model: str = ""
    """Empty: the embedded model, or ``gpt-4.1-mini`` with ``OPENAI_API_KEY``."""
    base_url: str = ""
    """Any Responses endpoint (``http://host:port/v1``); empty: OpenAI with
    ``OPENAI_API_KEY``, else the embedded ``codeagent serve``."""
    transport: str = "ws"
    max_turns: int = 30
    max_time: float = 300.0
    max_tokens: int = 0
    allow_test_edits: bool = False
    test_timeout: float = 120.0
    threads: int = 0
    """Embedded model: compute threads (0: the free cores)."""
    idle_timeout: float = 120.0
    """Seconds the model may stay silent mid-turn before the connection is taken for dead and
    the turn resent on a new one (``ClientConfig.idle_timeout``)."""
    sandbox: str = "auto"
    """Where test runs happen (``tools.sandbox``): ``auto`` (bubblewrap where it works),
    ``bubblewrap`` (required), ``off``."""
    provenance: Provenance = field(
        default_factory=Provenance, compare=False, metadata=NOT_A_SETTING
    )
    """Where each setting came from (not a setting)."""

    def __repr__(self) -> str:
        return f"FixSettings({ {name: getattr(self, name) for name in setting_names(self)} })"


_ENV = {
    "CODEAGENT_BASE_URL": "base_url",
    "CODEAGENT_FIX_MODEL": "model",
    "CODEAGENT_STRATEGY": "strategy",
    "CODEAGENT_TEST_CMD": "test_cmd",
    "CODEAGENT_PYTHON": "python",
    "CODEAGENT_IDLE_TIMEOUT": "idle_timeout",
    "CODEAGENT_SANDBOX": "sandbox",
}


GUARDED = {
    "base_url": "it would send your code, and OPENAI_API_KEY, to its server",
    "allow_test_edits": "it would let a fix edit the tests that judge it",
    "python": "it would choose the interpreter that runs the tests",
    "test_cmd": "it would choose the command whose verdict is taken",
    "sandbox": "it would let the tests (and the code the model writes) run unconfined",
}
"""Settings of ``[fix]`` that the project's own config may not set (unless trusted), and why."""


def merge_fix(
    project: Path,
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    *,
    trust: bool | None = None,
) -> FixSettings:
    """The settings of a fix of ``project``; each setting's source, and the guarded ones its
    config set and that were ignored, in ``provenance``. ``trust``: ``--trust-project-config``."""
    settings, provenance = merge_sources(
        FixSettings(),
        table="fix",
        project=project,
        environ=environ,
        flags=flags,
        env_names=_ENV,
        guarded=GUARDED,
        trust=trust,
    )
    if settings.strategy not in STRATEGIES:
        raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}")
    if settings.transport not in TRANSPORTS:
        raise ConfigError(f"--transport must be one of {', '.join(TRANSPORTS)}")
    if settings.sandbox not in SANDBOXES:
        raise ConfigError(f"--sandbox must be one of {', '.join(SANDBOXES)}")
    for name in ("max_turns", "max_tokens", "threads"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must not be negative")
    for name in ("max_time", "test_timeout"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must not be negative")
    if not settings.idle_timeout > 0:
        raise ConfigError("--idle-timeout must be positive")
    return replace(settings, provenance=provenance)


def find_python(project: Path, given: str) -> str:
    """``given``, else a ``.venv``/``venv`` in the project or a folder above it (up to the
    repository's top or the filesystem root), else the interpreter running codeagent."""
    if given:
        path = Path(given).expanduser()
        if not path.exists():
            raise ConfigError(f"--python {given}: no such interpreter")
        return str(path)
    for folder in [project, *project.parents]:
        for name in (".venv", "venv"):
            for exe in ("bin/python", "Scripts/python.exe"):
                candidate = folder / name / exe
                if candidate.exists():
                    return str(candidate)
        if (folder / ".git").exists():
            break
    return sys.executable


def pytest_args(test_cmd: str) -> list[str] | None:
    """The pytest arguments of a pytest command (``pytest -x tests``, ``python -m pytest``,
    ``py.test``); ``None`` for any other command."""
    if not test_cmd.strip():
        return []
    try:
        words = shlex.split(test_cmd)
    except ValueError as exc:
        raise ConfigError(f"--test-cmd: {exc}") from None
    if words and os.path.basename(words[0]) in ("pytest", "py.test"):
        return words[1:]
    if len(words) >= 3 and words[1:3] == ["-m", "pytest"]:
        return words[3:]
    return None
