"""What a work copy should hold, and putting it back: the shell around ``tools.manifest``.

A ``Baseline`` records the copy as it was made (every entry's stamp; every file's content in
the private store ``tools.gitstore``, except files over the limit, which the user's tree still
has) and, on top of it, the copy's own writes and deletes. ``settle`` walks the copy and undoes
whatever else happened to it; ``changes`` and ``patch`` give the own writes and deletes as a
patch. Paths are keys relative to the copy's top, ``/``-separated.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Collection, Iterable
from pathlib import Path

from codeagent.tools.gitstore import EXEC_MODE, FILE_MODE, LINK_MODE, Blob, GitStore
from codeagent.tools.manifest import Entry, Stamp, compare, observe, stamp_of
from codeagent.tools.paths import Copied, atomic_write, blob_id, read_at_most, remove_tree


class Baseline:
    """The record of the copy at ``top``; make one with ``record``."""

    def __init__(self, top: Path, store: GitStore) -> None:
        self.top = top
        self.store = store
        self._baseline: dict[str, Entry] = {}
        self._expected: dict[str, Entry] = {}
        self._origins: dict[str, tuple[Path, os.stat_result]] = {}  # the files over the limit
        self._touched: set[str] = set()
        self._held: dict[str, bytes] = {}  # own writes' content, stored when a patch needs it

    @classmethod
    def record(
        cls, top: Path, store: GitStore, copied: Iterable[Copied], borrowed: bool
    ) -> Baseline:
        """The baseline of the copy ``copied`` made (its top, ``""``, left out): the content of
        every hashed file goes into ``store`` unless it has it already (``borrowed``: through
        the user's objects). ``OSError`` propagates."""
        made = cls(top, store)
        items = [c for c in copied if c.rel]
        kept = {c.blob: c.rel for c in items if c.blob is not None}
        missing = store.missing(kept) if borrowed else set(kept)
        checked = time.time_ns()
        for oid in sorted(missing):
            with open(top / kept[oid], "rb") as handle:
                store.put(handle.read())
        for item in items:
            entry = Entry.of(item.info, blob=item.blob, target=item.target, checked_ns=checked)
            made._baseline[item.rel] = entry
            if entry.is_file and item.blob is None:
                made._origins[item.rel] = (item.source, item.origin)
        made._expected = dict(made._baseline)
        return made

    def is_large(self, key: str) -> bool:
        """Whether ``key`` was a file too large to keep."""
        return key in self._origins

    def is_folder(self, key: str) -> bool:
        """Whether the copy should hold a folder at ``key``."""
        known = self._expected.get(key)
        return known is not None and known.is_dir

    def wrote(self, key: str, data: bytes, folders: Collection[str], checked: int) -> None:
        """The copy wrote ``data`` to the file ``key`` (now on disk), making ``folders`` (or
        adopting them); ``checked``: a time before the write."""
        for folder in folders:
            self._expected[folder] = Entry.of(os.lstat(self.top / folder), checked_ns=checked)
        blob = blob_id(data)
        self._expected[key] = Entry.of(os.lstat(self.top / key), blob=blob, checked_ns=checked)
        self._touched.add(key)
        self._held[blob] = data
        self._hold_current()

    def deleted(self, key: str) -> None:
        """The copy deleted the entry ``key``."""
        self._expected.pop(key, None)
        self._touched.add(key)
        self._hold_current()

    def settle(self, skip_dirs: Collection[str]) -> set[str]:
        """Make the copy as recorded (folders named ``skip_dirs`` left alone); the keys removed
        or put back. ``OSError`` propagates."""
        seen = observe(str(self.top), self._expected, skip_dirs)
        drift = compare(self._expected, seen)
        if not drift:
            return set()
        restore = set(drift.restore)
        checked = time.time_ns()
        for key in drift.suspect:
            if not self._still_same(key, seen[key], checked):
                restore.add(key)
        self.top.mkdir(exist_ok=True)  # a test may have removed the whole tree
        for key in drift.extra:
            remove_tree(self.top / key)
        left = self._put_back(sorted(restore), seen)
        return {*drift.extra, *restore} - left

    def changes(self) -> dict[str, tuple[Blob | None, Blob | None]]:
        """The own writes and deletes that changed something: each key, before and after."""
        found: dict[str, tuple[Blob | None, Blob | None]] = {}
        for key in self._touched:
            old = self._blob(self._baseline.get(key))
            new = self._blob(self._expected.get(key))
            if old != new:
                found[key] = (old, new)
        return found

    def patch(self, before: dict[str, Blob], after: dict[str, Blob]) -> bytes:
        """``GitStore.patch`` of blobs from ``changes`` (paths as the caller names them)."""
        for blob in after.values():
            if blob.oid in self._held:
                self.store.put(self._held[blob.oid])
        return self.store.patch(before, after)

    def _still_same(self, key: str, now: Stamp, checked: int) -> bool:
        """Whether the suspect entry ``key`` still has its recorded content and mode; if so its
        record takes the new stamp."""
        want = self._expected[key]
        path = self.top / key
        try:
            if want.is_link:
                same = os.readlink(path) == want.target
            elif want.blob is None:
                same = want.stamp == now  # too large to keep: only its stamp tells
            elif now[:2] != want.stamp[:2]:  # another mode or size
                same = False
            else:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                try:
                    same = blob_id(read_at_most(fd, want.size + 1)) == want.blob
                finally:
                    os.close(fd)
        except OSError:
            return False
        if same:
            self._expected[key] = want.restamped(now, checked)
        return same

    def _put_back(self, keys: list[str], seen: dict[str, Stamp]) -> set[str]:
        """Make each entry of ``keys`` (sorted: folders before what they hold) as recorded;
        the ones that cannot be (a large file whose original changed)."""
        wanted = (self._expected[key] for key in keys)
        blobs = {w.blob for w in wanted if w.is_file and w.blob}
        contents = {oid: self._held[oid] for oid in blobs if oid in self._held}
        contents.update(self.store.read(blobs - contents.keys()))
        left: set[str] = set()
        for key in keys:
            want = self._expected[key]
            path = self.top / key
            checked = time.time_ns()
            if want.is_dir:
                if not (key in seen and stat.S_ISDIR(seen[key][0])):
                    path.mkdir()
                os.chmod(path, stat.S_IMODE(want.mode))
            elif want.is_link:
                remove_tree(path)
                os.symlink(want.target or "", path)
            elif want.blob is not None:
                atomic_write(path, contents[want.blob], stat.S_IMODE(want.mode))
            elif not self._copy_again(key, path, want):
                left.add(key)
                continue
            self._expected[key] = want.restamped(stamp_of(os.lstat(path)), checked)
        return left

    def _copy_again(self, key: str, path: Path, want: Entry) -> bool:
        """Copy a file over the limit from the user's tree again, if it is unchanged there."""
        source, origin = self._origins[key]
        try:
            now = os.lstat(source)
        except FileNotFoundError:
            return False
        stamp = (now.st_mode, now.st_size, now.st_mtime_ns, now.st_ino)
        if stamp != (origin.st_mode, origin.st_size, origin.st_mtime_ns, origin.st_ino):
            return False
        scratch = path.with_name(f".{path.name}.codeagent-{os.getpid()}.tmp")
        try:
            with open(source, "rb") as fsrc, open(scratch, "wb") as fdst:
                shutil.copyfileobj(fsrc, fdst, 1 << 20)
            os.chmod(scratch, stat.S_IMODE(want.mode))
            os.utime(scratch, ns=(origin.st_atime_ns, origin.st_mtime_ns))
            os.replace(scratch, path)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        return True

    def _hold_current(self) -> None:
        """Keep in memory only the content of own writes the copy still expects."""
        current = {self._expected[k].blob for k in self._touched if k in self._expected}
        for oid in self._held.keys() - current:
            del self._held[oid]

    def _blob(self, entry: Entry | None) -> Blob | None:
        if entry is None or entry.is_dir:
            return None
        if entry.is_link:
            return Blob(LINK_MODE, self.store.put(os.fsencode(entry.target or "")))
        return Blob(EXEC_MODE if entry.mode & stat.S_IXUSR else FILE_MODE, entry.blob or "")
