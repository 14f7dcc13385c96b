"""The isolated work copy a fix is made in.

``WorkCopy.create(path)`` copies the project folder ``path`` as the user sees it into a temp
folder: every file, untracked and ignored ones and submodule contents included (a generated
``_version.py``, a ``.env``, test data in an ignored folder), links as links. Left out: the
folders in ``JUNK_DIRS``, every ``.git`` entry, sockets, FIFOs and devices. When ``path`` is a
folder inside a larger repository, the folders between the repository's top and ``path`` are
made too, holding only pytest's configuration files (``PYTEST_CONFIG_FILES``) from there, so
pytest finds the same rootdir and configuration. The user's repository is only read: no
worktree, object, ref or index of it is written.

Beside the copy lives a private git repository (``tools.gitstore``) that borrows the user's
objects read-only and keeps the content of everything else it copied, up to
``BASELINE_MAX_BYTES`` a file. ``settle()`` puts the copy back to that baseline plus the copy's
own ``write``/``delete``: what tests created goes, what they changed or removed comes back.
``diff()`` shows only those own writes and deletes, as a text git patch relative to ``root``.
``close()`` removes it all.

The finished fix reaches the user's tree through ``apply_to_user`` (``tools.apply``; importable
from here too).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tempfile
import time
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from codeagent.errors import WorkspaceError
from codeagent.tools.apply import Applied, apply_to_user
from codeagent.tools.baseline import Baseline
from codeagent.tools.gitcmd import Repository, is_ignored, prefix_of
from codeagent.tools.gitstore import Blob, GitStore
from codeagent.tools.paths import (
    TreeCopy,
    atomic_write,
    confine,
    confine_entry,
    read_at_most,
    remove_tree,
)

__all__ = [
    "BASELINE_MAX_BYTES",
    "JUNK_DIRS",
    "PYTEST_CONFIG_FILES",
    "READ_MAX_BYTES",
    "Applied",
    "WorkCopy",
    "apply_to_user",
]

JUNK_DIRS = frozenset(
    {
        *("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"),
        *(".tox", ".nox", ".venv", "venv", "node_modules"),
    }
)
"""Folders that tools create or environments live in: never copied, never written, and left
alone by ``settle`` (a tool's cache there is the tool's business)."""
PYTEST_CONFIG_FILES = frozenset(
    {"conftest.py", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"}
)
"""What is copied from each folder between a repository's top and the project folder."""
BASELINE_MAX_BYTES = 16 * 1024 * 1024
"""Files above this (16 MiB) are copied but their content is not kept: ``settle`` puts one
back by copying the user's file again when that is unchanged since the copy was made (else it
stays as the tests left it), and ``write``/``delete`` refuse it."""
READ_MAX_BYTES = 4 * 1024 * 1024
"""``read`` refuses files above this (4 MiB), before reading a byte of them."""
_GIT_OWN = frozenset({".gitattributes", ".gitmodules"})


class WorkCopy:
    """A disposable copy of a project; file operations are confined to ``root``.

    Make one with ``create``; use it as a context manager or call ``close``.
    """

    def __init__(self, temp: Path, top: Path, root: Path) -> None:
        self.top = top
        """The copy's top folder, which tests may write into: ``root`` or, for a project inside
        a larger repository, the counterpart of the repository's top."""
        self.root = root
        """The project folder inside the copy (the counterpart of the ``path`` given)."""
        self._temp = temp
        self._prefix = prefix_of(top, root)
        """``root`` relative to ``top``: the prefix of the keys of the entries under ``root``."""
        self._record: Baseline | None = None
        self._ignores: tuple[Path, str] | None = None  # the user's repository top, path prefix
        self._ignored: dict[str, bool] = {}
        self._closed = False

    @classmethod
    def create(cls, path: Path) -> WorkCopy:
        """Copy the project folder ``path``; the user's tree is only read.

        Raises ``WorkspaceError`` if ``path`` is not a directory or the copy cannot be made;
        then nothing is left behind.
        """
        path = Path(os.path.realpath(path))
        if not path.is_dir():
            raise WorkspaceError(f"{path} is not a directory")
        repo = Repository.find(path)
        source_top = repo.top if repo is not None else path
        prefix = prefix_of(source_top, path)
        temp = _temp_dir(source_top)
        try:
            parts = [_safe_name(part) for part in prefix.split("/")] if prefix else []
            top = temp / "copy" / _safe_name(source_top.name)
            copy = cls(temp, top, top.joinpath(*parts))
            if repo is not None and not is_ignored(repo.top, prefix):
                copy._ignores = (repo.top, prefix)
            copy._fill(source_top, path, parts, repo.objects if repo is not None else None)
            return copy
        except BaseException:
            remove_tree_quietly(temp)
            raise

    def resolve(self, rel: str) -> Path:
        """The real path of ``rel`` (relative to ``root``, ``/``-separated) inside the copy.

        Refuses (``WorkspaceError``) absolute paths, ``..``, NUL, ``.git`` and links that lead out.
        """
        return confine(self.root, rel)

    def read(self, rel: str) -> str:
        """The text of a file. Binary files (a NUL byte) and files that are not valid UTF-8 are
        refused rather than decoded lossily: text that comes back through ``write`` would
        otherwise corrupt the bytes no one meant to change. Line endings and a BOM are kept.
        A file over ``READ_MAX_BYTES`` (4 MiB) is refused before it is read; no more than that
        plus one byte is ever read."""
        path = self.resolve(rel)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise WorkspaceError(f"cannot read {rel}: {exc.strerror}") from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise WorkspaceError(f"{rel} is not a regular file")
            if info.st_size > READ_MAX_BYTES:
                raise WorkspaceError(_too_large(rel, info.st_size))
            data = read_at_most(fd, READ_MAX_BYTES + 1)
        except OSError as exc:
            raise WorkspaceError(f"cannot read {rel}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        if len(data) > READ_MAX_BYTES:
            raise WorkspaceError(_too_large(rel, len(data)))
        if b"\0" in data[:8192]:
            raise WorkspaceError(f"{rel} is a binary file")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{rel} is not UTF-8 text (byte {exc.start})") from exc

    def write(self, rel: str, text: str) -> None:
        """Replace (or create) a file atomically: readers see the old or the new content, never
        a part. An existing file keeps its mode; a new one gets 0644 and its missing folders.

        Refused: ``.gitattributes`` and ``.gitmodules`` at any depth, a path the user's
        repository ignores or in a ``JUNK_DIRS`` folder (a patch could not carry it), and a
        file over ``BASELINE_MAX_BYTES``."""
        path = self.resolve(rel)
        key = self._changeable(rel, path)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise WorkspaceError(f"cannot write {rel}: the text is not valid Unicode") from exc
        if path.is_dir():
            raise WorkspaceError(f"cannot write {rel}: it is a directory")
        checked = time.time_ns()
        try:
            made = self._make_folders(path.parent)
            atomic_write(path, data)
            self._baseline().wrote(key, data, made, checked)
        except OSError as exc:
            raise WorkspaceError(f"cannot write {rel}: {exc.strerror or exc}") from exc

    def delete(self, rel: str) -> None:
        """Remove a file (a link itself, not its target); folders are refused, and so is what
        ``write`` refuses."""
        path = confine_entry(self.root, rel)
        key = self._changeable(rel, path)
        if path.is_dir() and not path.is_symlink():
            raise WorkspaceError(f"cannot delete {rel}: it is a directory")
        try:
            path.unlink()
        except OSError as exc:
            raise WorkspaceError(f"cannot delete {rel}: {exc.strerror}") from exc
        self._baseline().deleted(key)

    def diff(self) -> str:
        """What this copy's own ``write`` and ``delete`` changed since the baseline, as one git
        patch with paths relative to ``root`` (``a/``/``b/`` prefixes, no renames, always text,
        never a ``GIT binary patch``). ``""`` if nothing changed. Whatever tests left in the copy
        never shows. Bytes that are not UTF-8 come back as surrogate escapes, which
        ``apply_to_user`` turns back into them."""
        before, after = self._changes()
        if not before and not after:
            return ""
        return self._baseline().patch(before, after).decode("utf-8", "surrogateescape")

    def changed_paths(self) -> list[str]:
        """The paths (relative to ``root``, sorted) that ``diff`` would show."""
        before, after = self._changes()
        return sorted({*before, *after})

    def settle(self) -> tuple[str, ...]:
        """Put the copy back to its baseline plus this copy's own writes and deletes: remove
        what tests created (files, folders, links, nested repositories), restore what they
        changed or removed (ignored files included), content and mode exactly. ``JUNK_DIRS``
        folders are left alone. Returns the paths removed or restored, relative to ``root``
        (``../`` for the configuration files above it), sorted.

        Cheap when little changed: one ``lstat`` an entry and no process; content is read only
        for files whose stamp changed (or is racily clean, see ``tools.manifest``)."""
        if self._closed:
            raise WorkspaceError("the work copy is closed")
        try:
            changed = self._baseline().settle(JUNK_DIRS)
        except OSError as exc:
            raise WorkspaceError(f"cannot settle the work copy: {exc}") from exc
        return tuple(sorted(posixpath.relpath(key, self._prefix or ".") for key in changed))

    def close(self) -> None:
        """Remove the copy and its private repository. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        remove_tree_quietly(self._temp)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- making the copy ---------------------------------------------------------------------

    def _fill(self, source_top: Path, path: Path, parts: list[str], borrow: Path | None) -> None:
        """Copy ``path`` (and pytest's configuration above it, up to ``source_top``) and record
        the baseline: every entry's stamp, every kept content in the private store."""
        copier = TreeCopy(self.top, JUNK_DIRS, BASELINE_MAX_BYTES)
        try:
            self.top.parent.mkdir()
            if parts:
                copier.folder(source_top, "")
                source, rel = source_top, ""
                for source_part, part in zip(
                    path.relative_to(source_top).parts, parts, strict=True
                ):
                    copier.files(source, rel, PYTEST_CONFIG_FILES)
                    source, rel = source / source_part, f"{rel}/{part}" if rel else part
                    if source != path:
                        copier.folder(source, rel)
            copier.tree(path, self._prefix)
        except OSError as exc:
            raise WorkspaceError(f"cannot copy {path}: {exc}") from exc
        try:
            store = GitStore.create(self._temp / "git", borrow)
            self._record = Baseline.record(self.top, store, copier.copied, borrow is not None)
        except OSError as exc:
            raise WorkspaceError(f"cannot copy {path}: {exc}") from exc

    # -- own changes -------------------------------------------------------------------------

    def _changeable(self, rel: str, path: Path) -> str:
        """The key (relative to ``top``) of ``path``, which ``rel`` names, if ``write`` and
        ``delete`` may change it; else ``WorkspaceError`` says why not."""
        inside = path.relative_to(self.root).as_posix()
        if path.name.casefold() in _GIT_OWN or PurePosixPath(rel).name.casefold() in _GIT_OWN:
            raise WorkspaceError(
                f"refusing to change {rel}: git's attributes and submodule files are not "
                "changed by a fix"
            )
        if any(part in JUNK_DIRS for part in PurePosixPath(inside).parts):
            raise WorkspaceError(
                f"refusing to change {rel}: it is in a cache or environment folder, which a "
                "patch does not carry"
            )
        if self._is_ignored(inside):
            raise WorkspaceError(
                f"refusing to change {rel}: the repository ignores it, so a patch could not "
                "carry the change"
            )
        key = path.relative_to(self.top).as_posix()
        if self._baseline().is_large(key):
            limit = BASELINE_MAX_BYTES >> 20
            raise WorkspaceError(f"refusing to change {rel}: it is over {limit} MiB")
        return key

    def _is_ignored(self, inside: str) -> bool:
        """Whether the user's repository ignores the path ``inside`` (relative to ``root``)."""
        if self._ignores is None:
            return False
        known = self._ignored.get(inside)
        if known is None:
            top, prefix = self._ignores
            known = is_ignored(top, f"{prefix}/{inside}" if prefix else inside)
            self._ignored[inside] = known
        return known

    def _make_folders(self, folder: Path) -> list[str]:
        """Make the folders up to ``folder`` that the record lacks (or adopt them where tests
        made them); their keys, outermost first."""
        chain: list[Path] = []
        while folder != self.root:
            if self._baseline().is_folder(folder.relative_to(self.top).as_posix()):
                break
            chain.append(folder)
            folder = folder.parent
        chain.reverse()
        for made in chain:
            made.mkdir(exist_ok=True)
        return [made.relative_to(self.top).as_posix() for made in chain]

    def _changes(self) -> tuple[dict[str, Blob], dict[str, Blob]]:
        """The own changes: each changed path (relative to ``root``) before and after."""
        before: dict[str, Blob] = {}
        after: dict[str, Blob] = {}
        for key, (old, new) in self._baseline().changes().items():
            rel = posixpath.relpath(key, self._prefix or ".")
            if old is not None:
                before[rel] = old
            if new is not None:
                after[rel] = new
        return before, after

    def _baseline(self) -> Baseline:
        if self._record is None:
            raise WorkspaceError("the work copy was not made")
        return self._record


def _temp_dir(user_top: Path) -> Path:
    temp = Path(os.path.realpath(tempfile.mkdtemp(prefix="codeagent-")))
    if temp.is_relative_to(user_top):
        remove_tree_quietly(temp)
        raise WorkspaceError(f"the temp dir {temp} is inside {user_top}: set TMPDIR elsewhere")
    return temp


def _safe_name(name: str) -> str:
    """A folder name for the copy that any output can carry: characters that are not printable
    (bytes that are not UTF-8 among them) become ``_``."""
    return "".join(c if c.isprintable() else "_" for c in name) or "project"


def _too_large(rel: str, size: int) -> str:
    return f"{rel} is too large to read ({size} bytes; the limit is {READ_MAX_BYTES >> 20} MiB)"


def remove_tree_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        remove_tree(path)
