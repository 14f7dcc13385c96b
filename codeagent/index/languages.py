"""Which files are code, in which language, parsed by which grammar with which tag query.

Grammars come from the per-language wheels (``tree-sitter-python``, …), never from a bundle that
downloads at run time. A grammar and its query (``queries/<language>.scm``) are loaded on first
use and kept for the process.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from codeagent.errors import ConfigError

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Query

_QUERIES = os.path.join(os.path.dirname(__file__), "queries")


class LanguageSpec(NamedTuple):
    name: str
    module: str
    """The grammar wheel's module."""
    function: str = "language"
    """The module function returning the grammar pointer (TypeScript has two)."""
    query: str = ""
    """The ``queries/*.scm`` file, by stem; defaults to ``name``."""


LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec("python", "tree_sitter_python"),
        LanguageSpec("javascript", "tree_sitter_javascript"),
        LanguageSpec("typescript", "tree_sitter_typescript", "language_typescript"),
        LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", query="typescript"),
        LanguageSpec("go", "tree_sitter_go"),
        LanguageSpec("rust", "tree_sitter_rust"),
        LanguageSpec("java", "tree_sitter_java"),
        LanguageSpec("c", "tree_sitter_c"),
        LanguageSpec("cpp", "tree_sitter_cpp"),
    )
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    # .h is parsed as C++: the C++ grammar reads C headers, the C grammar fails on C++ ones.
    ".h": "cpp", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".hxx": "cpp",
}  # fmt: skip


@cache
def fingerprint(name: str) -> str:
    """A short id of everything the tags of a language ``name`` file are made from: the
    language, its grammar's compiled binding, the tree-sitter runtime and the tag query.

    Cached tags are keyed by it (with the content), so an upgraded or rebuilt grammar, a new
    tree-sitter or an edited query never serves old tags. The bindings are known by name, size
    and mtime, not by content: a warm run pays a few stats and one small read (about 0.1 ms a
    language, once per process), not a grammar load; a reinstall re-indexes that language once.
    """
    from codeagent.index.files import blob_id  # noqa: PLC0415  (files imports this module)

    spec = LANGUAGES.get(name)
    if spec is None:
        raise ConfigError(f"no grammar for language {name!r}")
    with open(_query_path(spec), "rb") as handle:
        query = handle.read()
    made_of = (name, spec.module, spec.function, _identity(spec.module), _identity("tree_sitter"))
    return blob_id(repr(made_of).encode() + b"\0" + query)[:16]


@cache
def _identity(package: str) -> tuple[tuple[str, int, int], ...]:
    """The package's compiled ``_binding`` files, each as (name, size, mtime)."""
    folder = _package_folder(package)
    found: list[tuple[str, int, int]] = []
    for entry in sorted(os.listdir(folder)):
        if entry.startswith("_binding."):
            info = os.stat(os.path.join(folder, entry))
            found.append((entry, info.st_size, info.st_mtime_ns))
    return tuple(found)


@cache
def _package_folder(package: str) -> str:
    """Where ``package`` is installed: its folder on ``sys.path``, found as the import system
    finds a regular package but without importing ``importlib`` (0.5 ms of a warm run); for
    anything else (an editable install), where the import system finds it."""
    for entry in sys.path:
        folder = os.path.join(entry, package)
        if os.path.isfile(os.path.join(folder, "__init__.py")):
            return os.path.abspath(folder)
    import importlib.util  # noqa: PLC0415

    found = importlib.util.find_spec(package)  # finds without executing the package
    if found is None or not found.submodule_search_locations:
        raise ConfigError(f"the grammar wheel {package} is not installed")
    return next(iter(found.submodule_search_locations))


def _binding(package: str) -> ModuleType:
    """The grammar wheel's compiled ``_binding`` module.

    Loaded from its file without running the package's ``__init__``, which imports
    ``importlib.resources`` (13 ms, a third of an incremental index run) only to offer the
    wheel's own queries, which we do not use. Falls back to a plain import.
    """
    import importlib.machinery  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    folder = _package_folder(package)
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for entry in sorted(os.listdir(folder)):
        if entry.startswith("_binding.") and entry.endswith(suffixes):
            name = f"{package}._binding"
            loader = importlib.machinery.ExtensionFileLoader(name, os.path.join(folder, entry))
            spec = importlib.util.spec_from_loader(name, loader)
            if spec is not None:
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                return module
    return importlib.import_module(package)


def _query_path(spec: LanguageSpec) -> str:
    return os.path.join(_QUERIES, f"{spec.query or spec.name}.scm")


def language_of(path: str) -> str | None:
    """The language name for ``path`` by its extension, or ``None`` for files we do not index."""
    dot = path.rfind(".")
    if dot <= path.rfind("/") + 1 or dot == len(path) - 1:
        return None  # no extension, or a dotfile such as ".py" alone
    return EXTENSIONS.get(path[dot:].lower())


class Grammar(NamedTuple):
    name: str
    language: Language
    query: Query

    def parser(self) -> Parser:
        from tree_sitter import Parser  # noqa: PLC0415

        return Parser(self.language)


@cache
def grammar(name: str) -> Grammar:
    """The loaded grammar and compiled tag query for language ``name``."""
    from tree_sitter import Language, Query  # noqa: PLC0415  (only when something is parsed)

    spec = LANGUAGES.get(name)
    if spec is None:
        raise ConfigError(f"no grammar for language {name!r}")
    module = _binding(spec.module)
    language = Language(getattr(module, spec.function)())
    with open(_query_path(spec), encoding="utf-8") as f:
        source = f.read()
    return Grammar(name, language, Query(language, source))
