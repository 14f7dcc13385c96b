"""Where settings come from, and which of them a project may set for itself.

Settings merge once, each source overriding the ones before it::

    defaults -> user config -> project config -> environment -> flags

- The user config, ``$XDG_CONFIG_HOME/codeagent/config.toml`` (default
  ``~/.config/codeagent/config.toml``), is the user's own: every setting in its tables
  (``[fix]``, ``[serve]``) counts. Its top-level ``trusted_projects`` lists projects (absolute
  paths, matched exactly after resolving) whose own config counts whole.
- The project config (``.codeagent.toml``, else ``pyproject.toml``'s ``[tool.codeagent]``) comes
  with the repository being worked on, which is untrusted. A *guarded* setting (one that would
  send code or keys somewhere, or weaken a guard) is dropped from it, and each one dropped is
  reported, unless the user trusts the project: ``--trust-project-config``,
  ``CODEAGENT_TRUST_PROJECT_CONFIG=1``, or ``trusted_projects``.

Every merged setting keeps the name of its source (``Provenance``): ``default``, ``user config
PATH``, ``project config PATH``, ``environment VAR`` or ``flag``. Values are never repeated in
a message (one may be a key).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from codeagent.errors import ConfigError

TRUST_VARIABLE = "CODEAGENT_TRUST_PROJECT_CONFIG"
TRUST_FLAG = "--trust-project-config"
USER_TABLES = ("fix", "serve")


@dataclass(frozen=True, slots=True)
class Ignored:
    """A guarded setting that a project config set and that was left out."""

    key: str
    path: str
    """The project config file that set it."""
    reason: str
    """What the setting could do if a repository chose it."""
    user_config: str
    """The user config file, where ``trusted_projects`` would go."""

    @property
    def warning(self) -> str:
        """One line for the user: which key, which file, why, and how to allow it."""
        return (
            f"ignored {self.key!r} from the project config {self.path}: {self.reason}; "
            f"set it yourself (flag, environment, user config), or take this project's config "
            f"whole with {TRUST_FLAG}, {TRUST_VARIABLE}=1 or trusted_projects in "
            f"{self.user_config}"
        )


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where each merged setting came from, and what a project config set that was ignored."""

    sources: Mapping[str, str] = field(default_factory=dict)
    """Setting name -> ``default``, ``user config PATH``, ``project config PATH``,
    ``environment VAR`` or ``flag``."""
    ignored: tuple[Ignored, ...] = ()


NOT_A_SETTING = {"setting": False}
"""Field metadata of a settings class's ``provenance``: merged into, never set."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One source of settings: values by setting name."""

    name: str
    """The source as the user reads it: ``user config PATH``, ``environment``, ``flag``..."""
    values: Mapping[str, Any]
    variables: Mapping[str, str] = field(default_factory=dict)
    """The environment: the variable each setting came from."""

    def source_of(self, key: str) -> str:
        variable = self.variables.get(key)
        return f"{self.name} {variable}" if variable else self.name


@dataclass(frozen=True, slots=True)
class UserConfig:
    path: Path
    tables: Mapping[str, Mapping[str, Any]]
    trusted_projects: tuple[Path, ...] = ()


def user_config_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/codeagent/config.toml``; ``~/.config`` when the variable is unset,
    empty or relative (the XDG base directory rule)."""
    base = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".config")
    return Path(base) / "codeagent" / "config.toml"


def read_user_config(environ: Mapping[str, str]) -> UserConfig:
    """The user config (empty when there is none); ``ConfigError`` when it cannot be used."""
    path = user_config_path(environ)
    if not path.is_file():
        return UserConfig(path, {})
    data = _read_toml(path, "the user config")
    tables: dict[str, Mapping[str, Any]] = {}
    trusted: tuple[Path, ...] = ()
    for key, value in data.items():
        if key in USER_TABLES:
            tables[key] = _table(value, f"[{key}] in the user config {path}")
        elif key == "trusted_projects":
            trusted = _trusted(value, path)
        else:
            raise ConfigError(
                f"unknown setting {key!r} in the user config {path}: settings go in "
                f"[{'] or ['.join(USER_TABLES)}], and trusted_projects at the top"
            )
    return UserConfig(path, tables, trusted)


def read_project_config(directory: Path, table: str) -> tuple[Path | None, dict[str, Any]]:
    """``[table]`` of ``.codeagent.toml``, else ``[tool.codeagent.<table>]`` of
    ``pyproject.toml``, in ``directory``, and the file it came from (``None``, ``{}``: none)."""
    dotfile = directory / ".codeagent.toml"
    pyproject = directory / "pyproject.toml"
    if dotfile.is_file():
        value = _read_toml(dotfile, "the project config").get(table, {})
        return dotfile, dict(_table(value, f"[{table}] in the project config {dotfile}"))
    if pyproject.is_file():
        data = _read_toml(pyproject, "the project config")
        tool = data.get("tool", {})
        codeagent = tool.get("codeagent", {}) if isinstance(tool, dict) else {}
        value = codeagent.get(table, {}) if isinstance(codeagent, dict) else {}
        where = f"[tool.codeagent.{table}] in the project config {pyproject}"
        return pyproject, dict(_table(value, where))
    return None, {}


def trusts_project(
    project: Path, user: UserConfig, environ: Mapping[str, str], flag: bool | None
) -> bool:
    """Whether the user said to take ``project``'s own config whole: by flag, environment
    (``CODEAGENT_TRUST_PROJECT_CONFIG``) or ``trusted_projects`` in the user config."""
    if flag:
        return True
    said = environ.get(TRUST_VARIABLE, "")
    try:
        if convert(bool, said):
            return True
    except ValueError:
        raise ConfigError(f"{TRUST_VARIABLE} must be 1 or 0 (true or false)") from None
    where = project.resolve()
    return any(where == trusted.resolve() for trusted in user.trusted_projects)


S = TypeVar("S")


def merge_sources(
    defaults: S,
    *,
    table: str,
    project: Path,
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
    env_names: Mapping[str, str],
    guarded: Mapping[str, str],
    trust: bool | None = None,
) -> tuple[S, Provenance]:
    """Defaults, the user config's ``[table]``, ``project``'s config (guarded settings dropped
    unless trusted), the environment variables of ``env_names`` (variable -> setting), and the
    flags given (not ``None``); ``guarded`` maps each guarded setting to why."""
    user = read_user_config(environ)
    path, values = read_project_config(project, table)
    trusted = trusts_project(project, user, environ, trust)
    ignored: list[Ignored] = []
    if path is not None and not trusted:
        for key in list(values):
            name = key.replace("-", "_")
            if name in guarded:
                del values[key]
                ignored.append(Ignored(name, str(path), guarded[name], str(user.path)))
    layers = [Layer(f"user config {user.path}", user.tables.get(table, {}))]
    if path is not None:
        layers.append(Layer(f"project config {path}", values))
    layers += [environment_layer(env_names, environ), flags_layer(flags)]
    settings, sources = merge_layers(defaults, layers)
    return settings, Provenance(sources, tuple(ignored))


def environment_layer(env_names: Mapping[str, str], environ: Mapping[str, str]) -> Layer:
    """The variables of ``env_names`` that are set and not empty."""
    given = {var: name for var, name in env_names.items() if environ.get(var)}
    return Layer(
        "environment",
        {name: environ[var] for var, name in given.items()},
        {name: var for var, name in given.items()},
    )


def flags_layer(flags: Mapping[str, Any]) -> Layer:
    """The flags given: ``None`` means "not given"."""
    return Layer("flag", {k: v for k, v in flags.items() if v is not None})


def merge_layers(defaults: S, layers: Sequence[Layer]) -> tuple[S, dict[str, str]]:
    """``defaults`` (a settings dataclass) overridden by each layer in turn; also the source
    of every setting."""
    settings = defaults
    sources = dict.fromkeys(setting_names(defaults), "default")
    for layer in layers:
        settings = _apply(settings, layer)
        for key in layer.values:
            sources[key.replace("-", "_")] = layer.source_of(key)
    return settings, sources


def setting_names(settings: object) -> list[str]:
    """The fields of a settings dataclass that are settings (not its ``provenance``)."""
    return [f.name for f in fields(settings) if f.metadata.get("setting", True)]  # type: ignore[arg-type]


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_KIND_NAMES: dict[type, str] = {tuple: "a list of strings"}


def _apply(settings: S, layer: Layer) -> S:
    known = set(setting_names(settings))
    blank = type(settings)()
    changes: dict[str, Any] = {}
    for key, value in layer.values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"unknown setting {key!r} in the {layer.source_of(key)}")
        default = getattr(blank, name)
        kind = type(default) if default is not None else str
        try:
            changes[name] = convert(kind, value)
        except (TypeError, ValueError):
            kind_name = _KIND_NAMES.get(kind, kind.__name__)
            raise ConfigError(
                f"setting {key!r} from the {layer.source_of(key)} must be {kind_name}"
            ) from None
    return replace(settings, **changes)  # type: ignore[type-var]


def convert(kind: type, value: Any) -> Any:
    """``value`` as a setting of type ``kind``; ``TypeError``/``ValueError`` if it is not one."""
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


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _trusted(value: Any, path: Path) -> tuple[Path, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConfigError(f"trusted_projects in the user config {path} must be a list of paths")
    projects = tuple(Path(item).expanduser() for item in items)
    for project in projects:
        if not project.is_absolute():
            raise ConfigError(
                f"trusted_projects in the user config {path}: {str(project)!r} is not an "
                "absolute path"
            )
    return projects
