"""Prompt templates: text in ``prompts/*.toml`` (shipped as ``codeagent/prompts``), not in code.

Each file has a ``version`` and named templates written with ``$names`` (``string.Template``);
a missing name is a bug and raises at once rather than sending a half-filled prompt.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from string import Template

from codeagent.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Prompts:
    name: str
    version: int
    templates: dict[str, str]

    def render(self, template: str, **values: object) -> str:
        """The template filled in; raises ``KeyError`` for a name it needs and was not given."""
        return Template(self.templates[template]).substitute({k: str(v) for k, v in values.items()})

    def text(self, template: str) -> str:
        """A template with no names in it, as written."""
        return self.templates[template]


def load(name: str) -> Prompts:
    """``prompts/<name>.toml``."""
    try:
        raw = (resources.files("codeagent") / "prompts" / f"{name}.toml").read_text("utf-8")
        data = tomllib.loads(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the prompt templates {name!r}: {exc}") from exc
    version = data.pop("version", None)
    if not isinstance(version, int) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"prompts/{name}.toml needs an integer version and string templates")
    return Prompts(name, version, dict(data))
