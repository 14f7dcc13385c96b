"""Paths confined to one directory tree, and copying a tree without following its links.

``confine`` is the one gate every file operation of the work copy goes through: a relative,
``/``-separated path in, a real path inside the root out, or ``WorkspaceError``. It refuses
absolute paths, ``..`` components, NUL bytes, anything in a ``.git`` directory (a hook or a config
written there would run as the user), and a path that a symbolic link in any component carries out
of the root. Links that stay inside the root are fine: the real path is what gets read or written,
so writing through a link changes its target and keeps the link.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection
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


def copy_tree(source: Path, target: Path, skip_dirs: Collection[str]) -> None:
    """Copy the tree at ``source`` to a new directory ``target``.

    Symbolic links are copied as links, never followed, so a link loop or a link to a huge tree
    elsewhere costs nothing (and ``confine`` refuses the ones that point out). Directories named
    in ``skip_dirs`` are left out at any depth; sockets, FIFOs and devices too (reading a FIFO
    would block). File modes and times are kept. ``OSError`` propagates.
    """
    target.mkdir()
    pending = [(source, target)]
    while pending:
        src, dst = pending.pop()
        with os.scandir(src) as entries:
            for entry in entries:
                to = dst / entry.name
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), to)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip_dirs:
                        to.mkdir()
                        pending.append((Path(entry.path), to))
                elif entry.is_file(follow_symlinks=False):
                    shutil.copy2(entry.path, to, follow_symlinks=False)
