"""Paths confined to one directory tree, and the file primitives of the work copy: copying a tree
without following its links (the content hashed on the way), writing a file atomically, removing
a tree whatever its modes.

``confine`` is the one gate every file operation of the work copy goes through: a relative,
``/``-separated path in, a real path inside the root out, or ``WorkspaceError``. It refuses
absolute paths, ``..`` components, NUL bytes, anything in a ``.git`` directory (a hook or a config
written there would run as the user), and a path that a symbolic link in any component carries out
of the root. Links that stay inside the root are fine: the real path is what gets read or written,
so writing through a link changes its target and keeps the link.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codeagent.errors import WorkspaceError


def confine(root: Path, rel: str) -> Path:
    """The real path that ``rel`` names under ``root``, every link in it followed.

    The path need not exist; its existing part must not leave ``root`` through a link.
    """
    parts = _parts(rel)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root.joinpath(*parts)))
    _check_inside(real_root, real, rel)
    return real


def confine_entry(root: Path, rel: str) -> Path:
    """The path of the directory entry ``rel`` itself: links in its folders are followed (and
    must stay inside ``root``), a link in the last component is not. For deleting a link."""
    parts = _parts(rel)
    real_root = Path(os.path.realpath(root))
    folder = Path(os.path.realpath(real_root.joinpath(*parts[:-1])))
    _check_inside(real_root, folder, rel)
    return folder / parts[-1]


def _parts(rel: str) -> tuple[str, ...]:
    if "\0" in rel:
        raise WorkspaceError(f"path {rel!r} contains a NUL byte")
    pure = PurePosixPath(rel)
    if pure.is_absolute():
        raise WorkspaceError(f"path {rel!r} is absolute; give it relative to the project root")
    parts = pure.parts  # drops "." components and repeated slashes
    if not parts:
        raise WorkspaceError(f"path {rel!r} names the project root, not a file")
    if ".." in parts:
        raise WorkspaceError(f"path {rel!r} contains '..'; paths stay inside the project")
    if ".git" in parts:
        raise WorkspaceError(f"path {rel!r} is inside a .git directory")
    return parts


def _check_inside(real_root: Path, real: Path, rel: str) -> None:
    if real != real_root and not real.is_relative_to(real_root):
        raise WorkspaceError(f"path {rel!r} leaves the project through a symbolic link")
    if ".git" in real.relative_to(real_root).parts:
        raise WorkspaceError(f"path {rel!r} leads into a .git directory through a symbolic link")


@dataclass(frozen=True, slots=True)
class Copied:
    """One entry of a copied tree, as ``TreeCopy`` made it."""

    rel: str
    """Relative to the copy's top, ``/``-separated; bytes that are not UTF-8 as surrogate
    escapes (as ``os.scandir`` names them)."""
    info: os.stat_result
    """The copy's ``lstat``."""
    source: Path
    """The original."""
    origin: os.stat_result
    """The original's ``lstat`` when it was copied."""
    blob: str | None
    """A regular file's git blob id; ``None`` for other entries and for files over the limit."""
    target: str | None
    """A symbolic link's target; ``None`` for other entries."""


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints, without the filters)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class TreeCopy:
    """Copies entries into the folder ``top``, recording each in ``copied`` (relative path
    ``""`` is ``top`` itself, which ``folder`` or ``tree`` makes).

    Symbolic links are copied as links, never followed, so a link loop or a link to a huge tree
    elsewhere costs nothing (and ``confine`` refuses the ones that point out). Left out at any
    depth: folders named in ``skip_dirs``, every entry named ``.git`` (a repository's own or a
    submodule's pointer), sockets, FIFOs and devices (reading a FIFO would block). Modes and
    modification times are kept. Files up to ``hash_limit`` bytes are read once, written and
    hashed (``Copied.blob``); larger ones are copied in chunks and not hashed. ``OSError``
    propagates; what was copied so far stays for the caller to remove.
    """

    def __init__(self, top: Path, skip_dirs: Collection[str], hash_limit: int) -> None:
        self.top = top
        self.copied: list[Copied] = []
        self._skip = frozenset(skip_dirs)
        self._limit = hash_limit

    def folder(self, source: Path, rel: str) -> None:
        """Make the empty folder ``rel`` with the mode of the folder ``source`` (plus ``u+rwx``:
        the copy is filled, and settled, by this user)."""
        info = os.stat(source)
        target = self.top / rel
        target.mkdir()
        os.chmod(target, stat.S_IMODE(info.st_mode) | stat.S_IRWXU)
        self.copied.append(Copied(rel, os.lstat(target), source, info, None, None))

    def files(self, source: Path, rel: str, names: Collection[str]) -> None:
        """Copy the entries of the folder ``source`` called ``names`` (files or links, where
        they exist) into the folder ``rel``."""
        for name in sorted(names):
            try:
                info = os.lstat(source / name)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                self._entry(source / name, f"{rel}/{name}" if rel else name, info)

    def tree(self, source: Path, rel: str) -> None:
        """Copy the folder ``source`` and everything in it to the new folder ``rel``."""
        self.folder(source, rel)
        pending = [(source, rel)]
        while pending:
            folder, at = pending.pop()
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
            for entry in listed:
                if entry.name.casefold() == ".git":
                    continue
                child = f"{at}/{entry.name}" if at else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in self._skip:
                        self.folder(Path(entry.path), child)
                        pending.append((Path(entry.path), child))
                else:
                    self._entry(Path(entry.path), child, entry.stat(follow_symlinks=False))

    def _entry(self, source: Path, rel: str, info: os.stat_result) -> None:
        target = self.top / rel
        if stat.S_ISLNK(info.st_mode):
            link = os.readlink(source)
            os.symlink(link, target)
            self.copied.append(Copied(rel, os.lstat(target), source, info, None, link))
        elif stat.S_ISREG(info.st_mode):
            blob = self._file(source, target)
            os.chmod(target, stat.S_IMODE(info.st_mode))
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
            self.copied.append(Copied(rel, os.lstat(target), source, info, blob, None))

    def _file(self, source: Path, target: Path) -> str | None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(source, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the listing
                raise OSError(f"{source} is no longer a regular file")
            with open(target, "xb") as out:
                data = read_at_most(fd, self._limit + 1)
                out.write(data)
                if len(data) <= self._limit:
                    return blob_id(data)
                while chunk := os.read(fd, 1 << 20):
                    out.write(chunk)
                return None
        finally:
            os.close(fd)


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd`` (fewer only at its end)."""
    parts: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace (or create) the file ``path`` with ``data`` through a sibling scratch file
    renamed over it: readers see the old or the new content, never a part. ``mode``: the new
    file's permission bits; by default an existing file's, else 0644. The scratch name is this
    process's own (no ``mkstemp``: the agent writes each candidate, and a write must cost well
    under 1 ms). ``OSError`` propagates; the scratch file never stays."""
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o644
    scratch = path.with_name(f".{path.name}.codeagent-{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def remove_tree(path: Path) -> None:
    """Remove ``path``: a file, a link (not its target) or a folder with all it holds, also
    when a folder in it was made read-only. Nothing there is fine; ``OSError`` otherwise."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        path.unlink()
        return
    try:
        shutil.rmtree(path)
    except OSError:
        _make_writable(path)
        shutil.rmtree(path)


def _make_writable(top: Path) -> None:
    os.chmod(top, stat.S_IRWXU)
    for folder, dirs, _ in os.walk(top):
        for name in dirs:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                os.chmod(full, stat.S_IRWXU)
