"""``Guard``: which files a fix may change.

A fix changes the code, never what judges it. Refused unless the user allows test edits
(``--allow-test-edits``):

- **the tests**: what pytest collected in the first run (its test modules and conftest files,
  ``TestLayout``), files matching its ``python_files`` patterns (Django's ``tests.py`` too) or
  pytest's default names, and everything under a test folder (a folder named ``test``,
  ``tests`` or ``testing`` at any depth, a ``testpaths`` entry, or a folder other than the
  project's root whose modules are all collected tests): the helpers and data the tests import
  or read;
- **pytest's configuration**: ``pytest.ini``, ``.pytest.ini``, ``conftest.py`` anywhere, and an
  edit of ``pyproject.toml``, ``setup.cfg`` or ``tox.ini`` that changes (or adds, or makes
  unreadable) its pytest section: options such as ``addopts = -k ...`` or ``-p plugin`` decide
  what runs and how it is reported.

Refused always: ``.gitattributes`` and ``.gitmodules`` (they change what the patch shows and
how git treats the tree) and the files Python runs at start-up (``sitecustomize.py``,
``usercustomize.py``, ``*.pth``).

Paths are judged as written and as resolved (a link ``t -> tests`` does not make
``t/helpers.py`` editable); a rename is judged on both sides. Pure but for resolving links.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from codeagent.tools.testresults import TestLayout, is_test_file

TEST_FOLDERS = frozenset({"test", "tests", "testing"})
PYTEST_FILES = frozenset({"pytest.ini", ".pytest.ini", "conftest.py"})
SECTIONED = {"pyproject.toml", "setup.cfg", "tox.ini"}
NEVER = frozenset({".gitattributes", ".gitmodules", "sitecustomize.py", "usercustomize.py"})
ALLOW_HINT = "--allow-test-edits to permit"


@dataclass(frozen=True, slots=True)
class Guard:
    root: Path
    """The project directory inside the work copy (links are resolved against it)."""
    layout: TestLayout | None = None
    allow_test_edits: bool = False
    _folders: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folders", frozenset(self._test_folders()))

    def refusal(self, rel: str, old: str | None, new: str | None) -> str | None:
        """Why changing ``rel`` from ``old`` to ``new`` (None: absent) is refused, or None.
        ``old`` and ``new`` matter only for files whose pytest section is judged."""
        for path in self._names(rel):
            name = PurePosixPath(path).name
            if name in NEVER or name.endswith(".pth"):
                return f"{rel}: codeagent never edits {name} (it changes how the tree is judged)"
        if self.allow_test_edits:
            return None
        for path in self._names(rel):
            why = self._test_reason(path, old, new)
            if why is not None:
                shown = path if path == rel else f"{rel} (that is {path})"
                return f"{shown} {why} ({ALLOW_HINT})"
        return None

    def _test_reason(self, path: str, old: str | None, new: str | None) -> str | None:
        name = PurePosixPath(path).name
        if name in PYTEST_FILES:
            return "is pytest's configuration"
        if (
            name in SECTIONED
            and old != new
            and _pytest_section(name, old) != _pytest_section(name, new)
        ):
            return "changes pytest's configuration"
        if is_test_file(path):
            return "is a test file"
        layout = self.layout
        if layout is not None:
            if path in layout.test_files or path in layout.conftests:
                return "is a test file (pytest collects it)"
            if name.endswith(".py") and any(
                fnmatch.fnmatch(name, pattern) for pattern in layout.python_files
            ):
                return "is a test file (it matches pytest's python_files)"
        folder = next((f for f in self._folders if path.startswith(f + "/")), None)
        if folder is not None:
            return f"is in the test folder {folder}/"
        return None

    def _names(self, rel: str) -> list[str]:
        """``rel`` as written and, if links lead elsewhere inside the root, as resolved."""
        names = [PurePosixPath(rel).as_posix()]
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(os.path.join(real_root, rel))
        if real.startswith(real_root + os.sep):
            resolved = Path(real).relative_to(real_root).as_posix()
            if resolved not in names:
                names.append(resolved)
        return names

    def _test_folders(self) -> Iterator[str]:
        layout = self.layout
        if layout is None:
            return
        real_root = os.path.realpath(self.root)
        for entry in layout.testpaths:
            base = layout.rootdir or real_root
            real = os.path.realpath(os.path.join(base, entry))
            if real != real_root and real.startswith(real_root + os.sep):
                yield Path(real).relative_to(real_root).as_posix()
        for path in layout.test_files | layout.conftests:
            parts = PurePosixPath(path).parts[:-1]
            for depth in range(1, len(parts) + 1):
                if parts[depth - 1] in TEST_FOLDERS:
                    yield "/".join(parts[:depth])
                    break
            else:
                if parts and path in layout.test_files and _all_tests(self.root, parts, layout):
                    yield "/".join(parts)


def _all_tests(root: Path, parts: tuple[str, ...], layout: TestLayout) -> bool:
    """A folder (not the root) whose Python modules are all test modules or conftests (besides
    ``__init__.py``): a test folder by another name, whose other files are the tests' own."""
    folder = root.joinpath(*parts)
    prefix = "/".join(parts) + "/"
    try:
        names = [e.name for e in os.scandir(folder) if e.name.endswith(".py")]
    except OSError:
        return False
    tests = layout.test_files | layout.conftests
    return bool(names) and all(n == "__init__.py" or prefix + n in tests for n in names)


def _pytest_section(name: str, text: str | None) -> Any:
    """The pytest configuration a file holds (None: none; ``...``: unreadable, which is never
    equal to a readable one)."""
    if text is None:
        return None
    try:
        if name == "pyproject.toml":
            tool = tomllib.loads(text).get("tool", {})
            return tool.get("pytest") if isinstance(tool, dict) else None
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        section = "tool:pytest" if name == "setup.cfg" else "pytest"
        return dict(parser[section]) if parser.has_section(section) else None
    except (tomllib.TOMLDecodeError, configparser.Error, ValueError):
        return ...
