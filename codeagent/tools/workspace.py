"""The isolated work copy a fix is made in.

``WorkCopy.create(path)`` copies the project at ``path`` somewhere the user never looks (a temp
dir), as a git work tree whose baseline commit is exactly what the user sees: in a git repository
a linked worktree (``git worktree add --detach``) of a commit made from HEAD plus the user's
working-tree state of the files under ``path`` (modified, staged, deleted, untracked but not
ignored); elsewhere (or in a repository with no commit yet) a plain copy with a fresh repository
of its own. Everything after that (writes, ``diff``, ``snapshot``/``restore``) happens in the copy,
and ``diff()`` is a git patch relative to the user's state. ``close()`` removes it all.

The finished fix reaches the user's tree through ``apply_to_user`` (``tools.apply``; importable
from here too). Git runs through ``tools.gitcmd``, hardened against the user's configuration.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from codeagent.errors import WorkspaceError
from codeagent.tools.apply import Applied, apply_to_user
from codeagent.tools.gitcmd import Repository, is_ignored, prefix_of, run_git, stdout_text
from codeagent.tools.paths import confine, confine_entry, copy_tree

__all__ = ["JUNK_DIRS", "Applied", "Snapshot", "WorkCopy", "apply_to_user"]

JUNK_DIRS = frozenset(
    {
        *("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"),
        *(".tox", ".nox", ".venv", "venv", "node_modules"),
    }
)
"""Folders that tools create or environments live in: never copied, never part of a diff."""
_JUNK_FILES = ("*.pyc", ".coverage", ".coverage.*")
_EXCLUDE = (
    *(f":(exclude,glob)**/{name}/**" for name in sorted(JUNK_DIRS)),
    *(f":(exclude,glob)**/{name}" for name in _JUNK_FILES),
)

_DIFF = (
    *("diff", "--cached", "--relative", "--binary", "--no-renames", "--no-color", "-U3"),
    *("--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"),
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A saved state of the files under a work copy's root (a git tree id); see ``restore``."""

    tree: str


class WorkCopy:
    """A disposable copy of a project; file operations are confined to ``root``.

    Make one with ``create``; use it as a context manager or call ``close``.
    """

    def __init__(
        self, top: Path, root: Path, baseline: str, temp: Path, user_top: Path | None
    ) -> None:
        self.root = root
        """The project directory inside the copy (the counterpart of the ``path`` given)."""
        self.baseline = baseline
        """The commit that ``diff`` compares against: the user's state when the copy was made."""
        self._top = top
        self._temp = temp
        self._user_top = user_top
        self._admin = _admin_dir(top) if user_top is not None else None
        self._closed = False

    @classmethod
    def create(cls, path: Path) -> WorkCopy:
        """Copy the project directory ``path``; the user's tree is only read.

        Raises ``WorkspaceError`` if ``path`` is not a directory or the copy cannot be made.
        """
        path = Path(os.path.realpath(path))
        if not path.is_dir():
            raise WorkspaceError(f"{path} is not a directory")
        repo = Repository.find(path)
        if repo is not None and repo.born:
            copy = _worktree_copy(repo, path)
            if copy is not None:
                return copy
        return _plain_copy(path)

    def resolve(self, rel: str) -> Path:
        """The real path of ``rel`` (relative to ``root``, ``/``-separated) inside the copy.

        Refuses (``WorkspaceError``) absolute paths, ``..``, NUL, ``.git`` and links that lead out.
        """
        return confine(self.root, rel)

    def read(self, rel: str) -> str:
        """The text of a file. Binary files (a NUL byte) and files that are not valid UTF-8 are
        refused rather than decoded lossily: text that comes back through ``write`` would
        otherwise corrupt the bytes no one meant to change. Line endings and a BOM are kept."""
        path = self.resolve(rel)
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                raise WorkspaceError(f"{rel} is not a regular file")
            data = path.read_bytes()
        except OSError as exc:
            raise WorkspaceError(f"cannot read {rel}: {exc.strerror}") from exc
        if b"\0" in data[:8192]:
            raise WorkspaceError(f"{rel} is a binary file")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{rel} is not UTF-8 text (byte {exc.start})") from exc

    def write(self, rel: str, text: str) -> None:
        """Replace (or create) a file atomically: readers see the old or the new content, never
        a part. An existing file keeps its mode; a new one gets 0644 and its missing folders."""
        path = self.resolve(rel)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise WorkspaceError(f"cannot write {rel}: the text is not valid Unicode") from exc
        if path.is_dir():
            raise WorkspaceError(f"cannot write {rel}: it is a directory")
        try:
            _atomic_write(path, data)
        except OSError as exc:
            raise WorkspaceError(f"cannot write {rel}: {exc.strerror or exc}") from exc

    def delete(self, rel: str) -> None:
        """Remove a file (a link itself, not its target); folders are refused."""
        path = confine_entry(self.root, rel)
        if path.is_dir() and not path.is_symlink():
            raise WorkspaceError(f"cannot delete {rel}: it is a directory")
        try:
            path.unlink()
        except OSError as exc:
            raise WorkspaceError(f"cannot delete {rel}: {exc.strerror}") from exc

    def diff(self) -> str:
        """Everything changed under ``root`` since the baseline, new files included, as one git
        patch with paths relative to ``root`` (``a/``/``b/`` prefixes, no renames, binary changes
        in git's binary format). ``""`` if nothing changed. Junk (``JUNK_DIRS``, ``*.pyc``,
        coverage data) and files the project's ``.gitignore`` ignores are left out. Bytes that are
        not UTF-8 come back as surrogate escapes, which ``apply_to_user`` turns back into them."""
        self._stage()
        out = run_git(self.root, *_DIFF, self.baseline, "--", ".").stdout
        return out.decode("utf-8", "surrogateescape")

    def changed_paths(self) -> list[str]:
        """The paths (relative to ``root``, sorted) that ``diff`` would show."""
        self._stage()
        names = "--name-only", "-z", "--relative", "--no-renames"
        out = run_git(self.root, "diff", "--cached", *names, self.baseline, "--", ".").stdout
        return sorted(n.decode("utf-8", "surrogateescape") for n in out.split(b"\0") if n)

    def snapshot(self) -> Snapshot:
        """Save the current state of every file under ``root`` (in the git object store: cheap,
        a few git commands whatever the number of files)."""
        self._stage()
        return Snapshot(stdout_text(run_git(self.root, "write-tree")))

    def restore(self, snapshot: Snapshot | None = None) -> None:
        """Put every file under ``root`` back as it was at ``snapshot`` (default: the baseline),
        content and mode exactly; files made since are removed (junk excepted)."""
        tree = snapshot.tree if snapshot is not None else f"{self.baseline}^{{tree}}"
        self._stage()
        run_git(self.root, "read-tree", "--reset", "-u", tree)

    def close(self) -> None:
        """Remove the copy, and in a git repository its worktree entry. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._user_top is not None:
                remove = "worktree", "remove", "--force", str(self._top)
                run_git(self._user_top, *remove, check=False)
        finally:
            # What `git worktree prune` would do for this entry, should `remove` have failed.
            if self._admin is not None:
                shutil.rmtree(self._admin, ignore_errors=True)
            shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _stage(self) -> None:
        # The copy's index is ours (a linked worktree has its own), so it may hold new files.
        run_git(self.root, "add", "--all", "--", ".", *_EXCLUDE)


def _worktree_copy(repo: Repository, path: Path) -> WorkCopy | None:
    """A linked worktree at a baseline commit; ``None`` if ``path`` is ignored or nothing under
    it is in the baseline (which leaves nothing behind)."""
    prefix = prefix_of(repo.top, path)
    if is_ignored(repo.top, prefix):
        return None
    temp = _temp_dir(repo.top)
    copy: WorkCopy | None = None
    try:
        baseline = _baseline(repo, prefix, temp / "index")
        top = temp / (repo.top.name or "project")
        run_git(repo.top, "worktree", "add", "--detach", "--quiet", str(top), baseline)
        copy = WorkCopy(top, top / prefix, baseline, temp, repo.top)
        if copy.root.is_dir():
            return copy
        copy.close()
        return None
    except BaseException:
        if copy is not None:
            copy.close()
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _baseline(repo: Repository, prefix: str, index: Path) -> str:
    """A commit of HEAD's files but, under ``prefix``, the working tree's: HEAD itself when they
    are the same (nothing is written to the user's object store then), else a new commit on it.

    Built in a scratch index, so the user's index and files are only read. Starting from a copy of
    the user's index keeps its stat data, so ``add`` hashes only the files that changed.
    """
    head, head_tree = stdout_text(run_git(repo.top, "rev-parse", "HEAD", "HEAD^{tree}")).split()
    env = {"GIT_INDEX_FILE": str(index)}
    if repo.index.is_file():
        shutil.copy2(repo.index, index)  # its mtime too: git judges racily clean entries by it
        if run_git(repo.top, "read-tree", "-m", head, env=env, check=False).returncode != 0:
            index.unlink()  # e.g. a merge in progress: start from HEAD alone
    if not index.exists():
        run_git(repo.top, "read-tree", head, env=env)
    scope = f":(literal){prefix}" if prefix else "."
    run_git(repo.top, "add", "--all", "--", scope, *_EXCLUDE, env=env)
    tree = stdout_text(run_git(repo.top, "write-tree", env=env))
    if tree == head_tree:
        return head
    message = f"codeagent baseline: the working tree of {prefix or '.'} as the user left it"
    return stdout_text(
        run_git(repo.top, "commit-tree", "--no-gpg-sign", "-p", head, "-m", message, tree)
    )


def _plain_copy(path: Path) -> WorkCopy:
    temp = _temp_dir(path)
    try:
        top = temp / (path.name or "project")
        try:
            copy_tree(path, top, JUNK_DIRS | {".git"})
        except OSError as exc:
            raise WorkspaceError(f"cannot copy {path}: {exc}") from exc
        run_git(top, "init", "--quiet", "--template=")
        run_git(top, "add", "--all", "--", ".", *_EXCLUDE)
        tree = stdout_text(run_git(top, "write-tree"))
        baseline = stdout_text(
            run_git(top, "commit-tree", "--no-gpg-sign", "-m", "codeagent baseline", tree)
        )
        run_git(top, "update-ref", "HEAD", baseline)
        return WorkCopy(top, top, baseline, temp, None)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _temp_dir(user_top: Path) -> Path:
    temp = Path(os.path.realpath(tempfile.mkdtemp(prefix="codeagent-")))
    if temp.is_relative_to(user_top):
        shutil.rmtree(temp)
        raise WorkspaceError(f"the temp dir {temp} is inside {user_top}: set TMPDIR elsewhere")
    return temp


def _admin_dir(top: Path) -> Path | None:
    """The worktree's administrative folder in the user's repository (``.git/worktrees/NAME``),
    from the ``.git`` file at the top of the worktree; ``None`` if that is not what it names."""
    try:
        named = (top / ".git").read_text().removeprefix("gitdir:").strip()
    except OSError:
        return None
    admin = Path(os.path.realpath(top / named))  # git may write it relative to the worktree
    return admin if admin.parent.name == "worktrees" else None


def _atomic_write(path: Path, data: bytes) -> None:
    """A sibling scratch file renamed over ``path``. The scratch name is this process's own
    (no ``mkstemp``: the agent writes each candidate, and a write must cost well under 1 ms)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
        path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.codeagent-{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
