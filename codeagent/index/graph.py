"""The definition/reference graph, as flat arrays aligned with the file table.

For file ``f``: ``def_ident[def_off[f]:def_off[f+1]]`` are the identifiers it defines and
``ref_ident`` / ``ref_count`` over ``ref_off[f]:ref_off[f+1]`` the identifiers it references,
with how often. Identifiers are indices into ``idents``; ``ident_mul`` holds the weight each
name carries by its shape (see ``name_weight``). The ranking reads these arrays directly.

An update does not rebuild: unchanged files keep their segments (array slices, copied in C) and
only the changed files' segments are made from their tags. New names are appended to ``idents``;
names nobody uses any more stay until a cold rebuild (they cost nothing in the ranking).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from codeagent.index.store import FileEntry, State
from codeagent.index.tags import FileTags


def name_weight(name: str) -> float:
    """How much a reference through ``name`` says about relevance (after Aider's repo map):
    long descriptive names say more, private ``_names`` less."""
    weight = 1.0
    descriptive = ("_" in name and any(c.isalpha() for c in name)) or (
        any(c.isupper() for c in name) and any(c.islower() for c in name)
    )
    if descriptive and len(name) >= 8:
        weight *= 10
    if name.startswith("_"):
        weight *= 0.1
    return weight


class Interner:
    """Name -> identifier index over a ``State``'s ``idents``, growing it as needed."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.ids = dict(zip(state.idents, range(len(state.idents)), strict=True))

    def __call__(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = len(self.state.idents)
            self.ids[name] = found
            self.state.idents.append(name)
            self.state.ident_mul.append(name_weight(name))
        return found


def rebuild(
    old: State,
    files: Sequence[FileEntry],
    tags_of: Callable[[FileEntry], FileTags | None],
) -> State:
    """A state for ``files`` reusing ``old``'s segments where the tags are the same ones (same
    content, same grammar: ``FileEntry.key``).

    ``tags_of`` is asked only for files whose tags changed (or that are new).
    """
    new = State(
        files=list(files),
        skipped=old.skipped,
        idents=old.idents,
        ident_mul=old.ident_mul,
        stored_tags=old.stored_tags,
    )
    intern = Interner(new)
    previous = {f.path: i for i, f in enumerate(old.files)}
    run: list[int] = []  # consecutive unchanged files, as old indices: copied as one slice

    def flush() -> None:
        if run:
            a, b = run[0], run[-1] + 1
            new.def_ident.extend(old.def_ident[old.def_off[a] : old.def_off[b]])
            new.ref_ident.extend(old.ref_ident[old.ref_off[a] : old.ref_off[b]])
            new.ref_count.extend(old.ref_count[old.ref_off[a] : old.ref_off[b]])
            base_d, base_r = len(new.def_off) - 1, len(new.ref_off) - 1
            start_d, start_r = (
                new.def_off[base_d] - old.def_off[a],
                new.ref_off[base_r] - old.ref_off[a],
            )
            new.def_off.extend(old.def_off[j + 1] + start_d for j in run)
            new.ref_off.extend(old.ref_off[j + 1] + start_r for j in run)
            run.clear()

    for entry in files:
        j = previous.get(entry.path, -1)
        if j >= 0 and old.files[j].blob == entry.blob and old.files[j].grammar == entry.grammar:
            if run and run[-1] != j - 1:
                flush()
            run.append(j)
            continue
        flush()
        tags = tags_of(entry)
        if tags is not None:
            defs = sorted({intern(d.name) for d in tags.definitions})
            refs = sorted((intern(name), len(lines)) for name, lines in tags.references.items())
            new.def_ident.extend(defs)
            new.ref_ident.extend(i for i, _ in refs)
            new.ref_count.extend(n for _, n in refs)
        new.def_off.append(len(new.def_ident))
        new.ref_off.append(len(new.ref_ident))
    flush()
    return new


def definers(state: State, ident: int) -> list[int]:
    """The files (indices) that define identifier ``ident``."""
    return _files_with(state.def_ident, state.def_off, ident)


def referencers(state: State, ident: int) -> list[int]:
    """The files (indices) that reference identifier ``ident``."""
    return _files_with(state.ref_ident, state.ref_off, ident)


def _files_with(idents: Sequence[int], offsets: Sequence[int], ident: int) -> list[int]:
    return [f for f in range(len(offsets) - 1) if ident in idents[offsets[f] : offsets[f + 1]]]
