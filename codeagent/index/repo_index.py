"""``RepoIndex``: open (and refresh) the index of a repository, then ask it things.

``RepoIndex.open(root)`` brings the on-disk index up to date: files whose stat stamp is unchanged
(and not racily clean) keep their blob id; the rest are read and hashed; content whose tags are
already stored for its grammar costs no parse; the rest are parsed, by worker processes on every
free core when there is much to parse.
The graph is spliced, not rebuilt. Then ``repo_map``, ``lookup``, ``source_of`` and ``callers``
answer from the index.
"""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from codeagent.index import graph
from codeagent.index.files import Skipped, blob_id, discover
from codeagent.index.rank import Ranking, rank
from codeagent.index.refresh import index_changed, split
from codeagent.index.render import Chosen, TokenCounter, approx_tokens, fit
from codeagent.index.store import FileEntry, IndexStore, State
from codeagent.index.tags import Definition, FileTags


class RefreshStats(NamedTuple):
    files: int
    parsed: int
    """Files whose content had no stored tags and were parsed now."""
    rehashed: int
    """Files whose stat stamp changed, so their content was read and hashed."""
    removed: int
    skipped: int
    workers: int
    seconds: float


class Location(NamedTuple):
    path: str
    name: str
    kind: str
    line: int
    end_line: int
    signature: str
    container: str | None
    """The enclosing definition's name (the class of a method), if any."""


class CallSite(NamedTuple):
    path: str
    line: int
    caller: Location | None
    """The innermost definition containing the reference, or ``None`` at module level."""


class RepoMap(NamedTuple):
    text: str
    chosen: tuple[Chosen, ...]
    tokens: int
    focus_files: tuple[str, ...]
    focus_symbols: tuple[str, ...]


class RepoIndex:
    def __init__(self, root: str, store: IndexStore, state: State, stats: RefreshStats) -> None:
        self.root = root
        self.store = store
        self.state = state
        self.stats = stats
        self._tags: dict[str, FileTags] = {}
        self._paths = {f.path: i for i, f in enumerate(state.files)}

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str],
        *,
        store: IndexStore | None = None,
        workers: int | None = None,
    ) -> RepoIndex:
        start = time.perf_counter()
        root = os.path.realpath(root)
        store = store or IndexStore.for_root(root)
        old = store.load_state() or State()
        candidates, skipped = discover(root)
        previous = {f.path: f for f in old.files}
        kept, changed = split(candidates, previous, old.written_ns)
        fresh, more_skipped, used = index_changed(root, changed, store, workers)
        files = sorted(kept + [entry for entry, _ in fresh], key=lambda f: f.path)
        parsed = {entry.path: tags for entry, tags in fresh if tags is not None}
        all_skipped = sorted(skipped + more_skipped, key=lambda s: s.path)
        if not changed and len(files) == len(old.files) and all_skipped == old.skipped:
            state = old  # nothing changed (all kept, none removed): nothing to write
        else:
            # Saved even when the hashes agree: a later write time ends racily clean entries.
            state = graph.rebuild(old, files, lambda e: parsed.get(e.path) or store.get_tags(e.key))
            state.skipped = all_skipped
            state.stored_tags = old.stored_tags + len(parsed)
            if state.stored_tags > 2 * len(files) + 256:
                live = {f.key for f in files}
                store.collect_garbage(live)
                state.stored_tags = len(live)
            store.save_state(state)
        stats = RefreshStats(
            files=len(files),
            parsed=len(parsed),
            rehashed=len(changed),
            removed=len(set(previous) - {f.path for f in files}),
            skipped=len(all_skipped),
            workers=used,
            seconds=time.perf_counter() - start,
        )
        index = cls(root, store, state, stats)
        index._tags.update({f.key: parsed[f.path] for f in files if f.path in parsed})
        return index

    @property
    def skipped(self) -> list[Skipped]:
        return self.state.skipped

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.state.files]

    def tags(self, path: str) -> FileTags:
        """The tags of one indexed file. Stored tags that are gone or damaged are parsed
        again from the file (and stored again); empty only if the file no longer holds the
        content the index has."""
        entry = self.state.files[self._paths[path]]
        found = self._tags.get(entry.key)
        if found is None:
            found = self.store.get_tags(entry.key) or self._parse_again(entry)
            self._tags[entry.key] = found
        return found

    def _parse_again(self, entry: FileEntry) -> FileTags:
        try:
            with open(os.path.join(self.root, entry.path), "rb") as handle:
                content = handle.read()
        except OSError:
            content = None
        if content is None or blob_id(content) != entry.blob:
            return FileTags(entry.language, (), {})
        from codeagent.index.parse import extract  # noqa: PLC0415  (loads tree-sitter)

        tags = extract(content, entry.language)
        self.store.put_tags(entry.key, tags)
        return tags

    def repo_map(
        self,
        budget: int = 1024,
        focus: Iterable[str] = (),
        count_tokens: TokenCounter = approx_tokens,
    ) -> RepoMap:
        """The best-ranked definitions that fit ``budget`` tokens, ranked toward ``focus``:
        file paths (relative, absolute, or a unique suffix) and symbols (``name``,
        ``Class.name``, ``path:name``)."""
        focus_files, focus_idents, names = self._resolve_focus(focus)
        ranking = rank(self.state, focus_files=focus_files, focus_idents=focus_idents)
        text, chosen = fit(
            self._ranked(ranking), budget, count_tokens, lambda p: self.tags(p).definitions
        )
        return RepoMap(
            text=text,
            chosen=tuple(chosen),
            tokens=count_tokens(text),
            focus_files=tuple(self.state.files[f].path for f in sorted(focus_files)),
            focus_symbols=tuple(names),
        )

    def lookup(self, symbol: str) -> list[Location]:
        """Where ``symbol`` (``name``, ``Class.name`` or ``path:name``) is defined."""
        path_part, container, name = _split_symbol(symbol)
        ident = self._ident(name)
        if ident is None:
            return []
        out = []
        for f in graph.definers(self.state, ident):
            path = self.state.files[f].path
            if path_part and not _path_matches(path, path_part):
                continue
            defs = self.tags(path).definitions
            for d in defs:
                parent = defs[d.parent].name if d.parent >= 0 else None
                if d.name == name and (container is None or parent == container):
                    out.append(
                        Location(path, d.name, d.kind, d.line, d.end_line, d.signature, parent)
                    )
        return out

    def source_of(self, symbol: str) -> list[tuple[Location, str]]:
        """Each definition of ``symbol`` with its source text, read from the work tree."""
        out = []
        for loc in self.lookup(symbol):
            try:
                with open(
                    os.path.join(self.root, loc.path), encoding="utf-8", errors="replace"
                ) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            out.append((loc, "\n".join(lines[loc.line - 1 : loc.end_line]) + "\n"))
        return out

    def callers(self, symbol: str) -> list[CallSite]:
        """Where ``symbol``'s name is referenced, each with the definition it sits in."""
        _, _, name = _split_symbol(symbol)
        ident = self._ident(name)
        if ident is None:
            return []
        out = []
        for f in graph.referencers(self.state, ident):
            path = self.state.files[f].path
            tags = self.tags(path)
            for line in tags.references.get(name, ()):
                out.append(CallSite(path, line, _innermost(path, tags.definitions, line)))
        return out

    def _ranked(self, ranking: Ranking) -> Iterator[Chosen]:
        offsets = self.state.def_off
        for pos in ranking.order:
            f = bisect.bisect_right(offsets, pos) - 1
            path = self.state.files[f].path
            name = self.state.idents[self.state.def_ident[pos]]
            score = ranking.ident_score[self.state.def_ident[pos]]
            for i, d in enumerate(self.tags(path).definitions):
                if d.name == name:
                    yield Chosen(path, i, d, score)
        # Then what nobody references (tests, entry points), best-ranked files first, so a
        # budget the graph does not fill still shows them (Aider lists such files by name only).
        scores = ranking.ident_score
        files = sorted(
            range(len(self.state.files)),
            key=lambda f: (-ranking.file_rank[f], self.state.files[f].path),
        )
        for f in files:
            run = self.state.def_ident[offsets[f] : offsets[f + 1]]
            if all(scores[i] > 0.0 for i in run):
                continue
            unranked = {self.state.idents[i] for i in run if scores[i] == 0.0}
            path = self.state.files[f].path
            for i, d in enumerate(self.tags(path).definitions):
                if d.name in unranked:
                    yield Chosen(path, i, d, 0.0)

    def _ident(self, name: str) -> int | None:
        try:
            return self.state.idents.index(name)
        except ValueError:
            return None

    def _resolve_focus(self, focus: Iterable[str]) -> tuple[set[int], set[int], list[str]]:
        files: set[int] = set()
        idents: set[int] = set()
        names: list[str] = []
        for item in focus:
            matched = self._match_path(item)
            if matched:
                files |= matched
                continue
            path_part, _, name = _split_symbol(item)
            if path_part:
                files |= self._match_path(path_part)
            ident = self._ident(name)
            if ident is not None:
                idents.add(ident)
                names.append(item)
        return files, idents, names

    def _match_path(self, text: str) -> set[int]:
        if os.path.isabs(text):
            resolved = os.path.realpath(text)
            if not resolved.startswith(self.root + os.sep):
                return set()
            text = resolved[len(self.root) + 1 :].replace(os.sep, "/")
        exact = self._paths.get(text)
        if exact is not None:
            return {exact}
        if "/" not in text and "." not in text:
            return set()  # a bare name is a symbol, not a path suffix
        return {i for p, i in self._paths.items() if p.endswith("/" + text)}


def _split_symbol(symbol: str) -> tuple[str | None, str | None, str]:
    """``path:Class.name`` -> (path, Class, name); each part but the name optional."""
    path_part, sep, rest = symbol.rpartition(":")
    if not sep:
        path_part, rest = "", symbol
    container, dot, name = rest.rpartition(".")
    return path_part or None, (container or None) if dot else None, name


def _path_matches(path: str, wanted: str) -> bool:
    return path == wanted or path.endswith("/" + wanted)


def _innermost(path: str, defs: Sequence[Definition], line: int) -> Location | None:
    best = None
    for d in defs:
        if d.line <= line <= d.end_line and (best is None or d.line >= best.line):
            best = d
    if best is None:
        return None
    parent = defs[best.parent].name if best.parent >= 0 else None
    return Location(path, best.name, best.kind, best.line, best.end_line, best.signature, parent)
