"""Bringing an index's file table up to date: which entries still hold, and the rest hashed
and, where their tags are not stored yet, parsed (in worker processes when there is much).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from codeagent.index.files import Candidate, Skipped, blob_id, read_checked
from codeagent.index.languages import fingerprint
from codeagent.index.store import FileEntry, IndexStore
from codeagent.index.tags import FileTags

PARALLEL_MIN_BYTES = 2 * 1024 * 1024
"""Below this much to parse, worker start-up costs more than it saves."""


def split(
    candidates: list[Candidate], previous: dict[str, FileEntry], written_ns: int
) -> tuple[list[FileEntry], list[Candidate]]:
    """The entries still valid, and the candidates to read and hash again.

    An entry holds while its stamp, language and grammar fingerprint are unchanged, unless it
    is racily clean: a file whose mtime or ctime is not older than the state's write time
    (``State.written_ns``, at the filesystem's granularity) may have been rewritten within the
    same timestamp tick after it was hashed, same size, leaving the stamp as it was. Git does
    the same with its index. Such entries are hashed again (their stored tags still serve if
    the content is unchanged), and the state is saved again, so the next run trusts them."""
    kept: list[FileEntry] = []
    changed: list[Candidate] = []
    grammars = _Fingerprints()
    for c in candidates:
        prev = previous.get(c.path)
        if (
            prev is not None
            and prev.stamp == c.stamp
            and c.mtime_ns < written_ns
            and c.ctime_ns < written_ns
            and prev.language == c.language
            and prev.grammar == grammars[c.language]
        ):
            kept.append(prev)
        else:
            changed.append(c)
    return kept, changed


class _Fingerprints(dict[str, str]):
    """``fingerprint`` by language, computed on first use, then at a dict's speed."""

    def __missing__(self, language: str) -> str:
        found = self[language] = fingerprint(language)
        return found


def index_changed(
    root: str, changed: list[Candidate], store: IndexStore, workers: int | None
) -> tuple[list[tuple[FileEntry, FileTags | None]], list[Skipped], int]:
    """Hash each changed file; parse those with no stored tags for their key (storing them)."""
    if not changed:
        return [], [], 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = workers if workers is not None else (cores or 1)
    total = sum(c.size for c in changed)
    if wanted <= 1 or total < PARALLEL_MIN_BYTES or len(changed) < 8:
        return (*_index_chunk(root, store, changed), 1)
    chunks: list[list[Candidate]] = [[] for _ in range(wanted * 32)]
    for i, c in enumerate(sorted(changed, key=lambda c: -c.size)):
        chunks[i % len(chunks)].append(c)  # big files spread first: even work per chunk
    # Imported here: a warm run must not pay for them.
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from multiprocessing import get_context  # noqa: PLC0415

    entries: list[tuple[FileEntry, FileTags | None]] = []
    skipped: list[Skipped] = []
    with ProcessPoolExecutor(max_workers=wanted, mp_context=get_context("fork")) as pool:
        jobs = [pool.submit(_chunk_job, root, store.directory, ch) for ch in chunks]
        for job in jobs:
            raw_entries, raw_skipped, writable = job.result()
            store.writable = store.writable and writable  # a worker warned already
            entries += [
                (FileEntry(*e), FileTags.from_data(t) if t else None) for e, t in raw_entries
            ]
            skipped += [Skipped(*s) for s in raw_skipped]
    return entries, skipped, wanted


def _chunk_job(
    root: str, store_dir: str, chunk: list[Candidate]
) -> tuple[list[Any], list[Any], bool]:
    """Runs in a worker: plain tuples back, to keep pickling cheap."""
    store = IndexStore(store_dir)
    entries, skipped = _index_chunk(root, store, chunk)
    return (
        [(tuple(e), t.to_data() if t else None) for e, t in entries],
        [(s.path, s.reason) for s in skipped],
        store.writable,
    )


def _index_chunk(
    root: str, store: IndexStore, chunk: Sequence[Candidate]
) -> tuple[list[tuple[FileEntry, FileTags | None]], list[Skipped]]:
    entries: list[tuple[FileEntry, FileTags | None]] = []
    skipped: list[Skipped] = []
    for c in chunk:
        content, reason = read_checked(root, c)
        if content is None:
            skipped.append(Skipped(c.path, reason))
            continue
        entry = FileEntry(c.path, c.language, c.stamp, blob_id(content), fingerprint(c.language))
        tags = None
        if not store.has_tags(entry.key):
            from codeagent.index.parse import extract  # noqa: PLC0415  (loads tree-sitter)

            tags = extract(content, c.language)
            store.put_tags(entry.key, tags)
        entries.append((entry, tags))
    return entries, skipped
