"""The record of a work copy's tree, and how a tree on disk has drifted from it.

An ``Entry`` is what ``lstat`` says of one path (kind, mode, size, times, inode) plus, for a
regular file, the blob id of the content it is known to have, and for a link its target.
``observe`` walks a tree (``os.scandir``, no content read, links never followed); ``compare``
(pure) sets what it saw against the record: entries to remove, entries to put back, and files
to check by content.

Unchanged is judged the way git judges its index: the same mode, size, mtime, ctime and inode
mean the same content, except for a *racily clean* entry, one whose ctime is so close to the
moment its content was last known (``Entry.checked_ns``) that a change in the same clock tick
would leave its stamp as it was (file times are only as fine as the kernel's clock tick, a few
milliseconds). Those are checked by content. A test cannot set a ctime back, so ``touch -r``
or ``os.utime`` cannot hide a change.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass

RACY_NS = 50_000_000
"""How close (ns) a ctime may come to the moment its content was checked before the entry is
checked by content again: well above a kernel clock tick (1-10 ms)."""


Stamp = tuple[int, int, int, int, int]
"""What ``lstat`` says of an entry, as compared: mode (type bits included), size, mtime, ctime
(both ns) and inode."""


def stamp_of(info: os.stat_result) -> Stamp:
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a tree: its stamp and what its content is known to be."""

    stamp: Stamp
    blob: str | None = None
    """A regular file's git blob id; ``None`` when not known (a file too large to keep)."""
    target: str | None = None
    """A link's target."""
    checked_ns: int = 0
    """When (``time.time_ns``) the content was last known to be ``blob``/``target``."""

    @staticmethod
    def of(
        info: os.stat_result,
        *,
        blob: str | None = None,
        target: str | None = None,
        checked_ns: int = 0,
    ) -> Entry:
        return Entry(stamp_of(info), blob, target, checked_ns)

    @property
    def mode(self) -> int:
        return self.stamp[0]

    @property
    def size(self) -> int:
        return self.stamp[1]

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stamp[0])

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.stamp[0])

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.stamp[0])

    @property
    def racy(self) -> bool:
        """Changed content could hide behind this entry's stamp (see the module docstring)."""
        return self.stamp[3] >= self.checked_ns - RACY_NS

    def restamped(self, seen: Stamp, checked_ns: int) -> Entry:
        """This entry's content with the stamp ``seen``, known at ``checked_ns``."""
        return Entry(seen, self.blob, self.target, checked_ns)


@dataclass(frozen=True, slots=True)
class Drift:
    """How a tree differs from its record; paths relative to its top, sorted."""

    extra: tuple[str, ...]
    """To remove: not in the record, or of another kind (a folder only, not what is in it)."""
    restore: tuple[str, ...]
    """To put back as recorded: missing, of another kind, or a folder of another mode."""
    suspect: tuple[str, ...]
    """Files and links whose stamp changed or is racy: compare their content to decide."""

    def __bool__(self) -> bool:
        return bool(self.extra or self.restore or self.suspect)


def observe(
    top: str, expected: Mapping[str, Entry], skip_dirs: Collection[str]
) -> dict[str, Stamp]:
    """The stamp of every entry under ``top`` (relative paths, ``/``-separated), without
    reading content. Folders named in ``skip_dirs`` are left out; a folder is only entered when
    ``expected`` has a folder there (what is in a folder that goes is of no interest)."""
    seen: dict[str, Stamp] = {}
    pending = [""]
    while pending:
        at = pending.pop()
        try:
            with os.scandir(os.path.join(top, at) if at else top) as entries:
                listed = [(e.name, e.stat(follow_symlinks=False)) for e in entries]
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name, info in listed:
            rel = f"{at}/{name}" if at else name
            mode = info.st_mode
            if stat.S_ISDIR(mode):
                if name in skip_dirs:
                    continue
                want = expected.get(rel)
                if want is not None and want.is_dir:
                    pending.append(rel)
            seen[rel] = (mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    return seen


def compare(expected: Mapping[str, Entry], seen: Mapping[str, Stamp]) -> Drift:
    """What separates the tree ``seen`` (from ``observe``) from the record ``expected``."""
    extra: list[str] = []
    restore: list[str] = []
    suspect: list[str] = []
    racy_ns = RACY_NS
    for rel, now in seen.items():
        want = expected.get(rel)
        if want is None:
            extra.append(rel)
            continue
        stamp = want.stamp
        if stat.S_IFMT(stamp[0]) != stat.S_IFMT(now[0]):
            extra.append(rel)
            restore.append(rel)
        elif stat.S_ISDIR(now[0]):
            if stamp[0] != now[0]:
                restore.append(rel)
        elif stamp != now or stamp[3] >= want.checked_ns - racy_ns:
            suspect.append(rel)
    restore.extend(rel for rel in expected if rel not in seen)
    return Drift(tuple(sorted(extra)), tuple(sorted(restore)), tuple(sorted(suspect)))
