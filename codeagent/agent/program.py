"""The work copy's Python files as the localiser reads them: outlines parsed on first use,
and the look-ups that cross files (functions by name, class hierarchies, imports)."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping

from codeagent.agent.outline import Function, Outline, outline


class Program:
    """``sources`` maps paths to texts; only ``.py`` files count. ``index`` names the files
    whose functions ``by_name`` and ``hierarchy`` know (all of them by default): with coverage,
    the files the failing tests ran, so a large repository is not parsed whole. ``cache``
    shares parsed outlines between programs over the same sources."""

    def __init__(
        self,
        sources: Mapping[str, str],
        *,
        index: Collection[str] | None = None,
        cache: dict[str, Outline] | None = None,
    ) -> None:
        self._sources = {p: t for p, t in sources.items() if p.endswith(".py")}
        self._outlines: dict[str, Outline] = {} if cache is None else cache
        self._suffix_index: dict[str, str] | None = None
        chosen = self._sources.keys() if index is None else set(index) & self._sources.keys()
        self.indexed: tuple[str, ...] = tuple(sorted(chosen))
        by_name: dict[str, list[tuple[str, Function]]] = {}
        for path in self.indexed:
            for f in self.outline(path).functions:
                by_name.setdefault(f.name, []).append((path, f))
                if f.name == "__init__" and f.owner:
                    by_name.setdefault(f.owner.rsplit(".", 1)[-1], []).append((path, f))
        self.by_name: Mapping[str, tuple[tuple[str, Function], ...]] = {
            name: tuple(fs) for name, fs in by_name.items()
        }
        """Simple name -> the functions and methods of that name (in the indexed files); a
        class name -> its ``__init__``."""

    def reindexed(self, index: Collection[str]) -> Program:
        """The same files, ``index`` indexed, the outlines parsed so far kept."""
        return Program(self._sources, index=index, cache=self._outlines)

    def __contains__(self, path: object) -> bool:
        return path in self._sources

    def outline(self, path: str) -> Outline:
        """The outline of ``path``; ``KeyError`` if it is not one of the Python sources."""
        found = self._outlines.get(path)
        if found is None:
            found = self._outlines[path] = outline(path, self._sources[path])
        return found

    def get(self, path: str) -> Outline | None:
        return self.outline(path) if path in self._sources else None

    def hierarchy(self, path: str, owner: str) -> list[tuple[str, str]]:
        """The class ``owner`` of ``path``, its base classes and its subclasses in the indexed
        files (matched by simple name), as ``(path, qualname)``: where ``self.x`` may be
        bound."""
        classes = [
            (p, q, bases) for p in self.indexed for q, bases in self.outline(p).bases.items()
        ]
        found = [(path, owner)]
        for upward in (True, False):
            todo = [owner.rsplit(".", 1)[-1]]
            seen = set(todo)
            while todo:
                name = todo.pop()
                above = {b for _, q, bs in classes if q.rsplit(".", 1)[-1] == name for b in bs}
                for p, q, bases in classes:
                    simple = q.rsplit(".", 1)[-1]
                    hit = simple in above if upward else name in bases
                    if hit and simple not in seen:
                        seen.add(simple)
                        todo.append(simple)
                        found.append((p, q))
        return found

    def methods(self, path: str, owner: str) -> tuple[Function, ...]:
        return tuple(f for f in self.outline(path).functions if f.owner == owner)

    def imported(self, paths: Iterable[str], depth: int = 2) -> set[str]:
        """``paths`` and the work copy's files they import, ``depth`` imports deep."""
        found = {p for p in paths if p in self._sources}
        frontier = set(found)
        for _ in range(depth):
            frontier = {m for p in frontier for m in self._imports(p)} - found
            found |= frontier
        return found

    def _imports(self, path: str) -> set[str]:
        modules: set[str | None] = set()
        for stmt in self.outline(path).statements.values():
            if isinstance(stmt, ast.Import):
                modules.update(self.module_path(path, a.name, 0) for a in stmt.names)
            elif isinstance(stmt, ast.ImportFrom):
                modules.add(self.module_path(path, stmt.module, stmt.level))
                # ``from pkg import mod`` names a module too.
                for a in stmt.names:
                    inner = f"{stmt.module}.{a.name}" if stmt.module else a.name
                    modules.add(self.module_path(path, inner, stmt.level))
        return {m for m in modules if m is not None}

    def module_path(self, importer: str, module: str | None, level: int) -> str | None:
        """The file an ``import`` in ``importer`` names, if it is in the work copy."""
        parts = module.split(".") if module else []
        if level:
            base = importer.split("/")[:-1]
            base = base[: len(base) - (level - 1)] if level > 1 else base
            parts = [*base, *parts]
        stem = "/".join(parts)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in self._sources:
                return candidate
            if level == 0 and stem and candidate in self._suffixes():
                # A src/ layout or any other prefix the importer's sys.path adds.
                return self._suffixes()[candidate]
        return None

    def _suffixes(self) -> dict[str, str]:
        """Each trailing part of each path (``b/c.py`` of ``a/b/c.py``) -> the first path in
        order that ends so."""
        if self._suffix_index is None:
            self._suffix_index = {}
            for path in sorted(self._sources):
                parts = path.split("/")
                for i in range(1, len(parts)):
                    self._suffix_index.setdefault("/".join(parts[i:]), path)
        return self._suffix_index
