"""The isolated work copy a fix is made in, and applying the finished fix to the user's tree.

``WorkCopy.create(path)`` copies the project at ``path`` somewhere the user never looks (a temp
dir), as a git work tree whose baseline commit is exactly what the user sees: in a git repository
a linked worktree (``git worktree add --detach``) of a commit made from HEAD plus the user's
working-tree state of the files under ``path`` (modified, staged, deleted, untracked but not
ignored); elsewhere (or in a repository with no commit yet) a plain copy with a fresh repository
of its own. Everything after that (writes, ``diff``, ``snapshot``/``restore``) happens in the copy,
and ``diff()`` is a git patch relative to the user's state. ``close()`` removes it all.

``apply_to_user(path, patch)`` is the one function that writes to the user's tree.

Every git command runs with hooks, signing and fsmonitor switched off and an explicit identity
(the user may have none), diff output pinned to the plain git format whatever the user's config
says, and the environment variables that redirect git to another repository or index removed
(a git hook that runs codeagent exports ``GIT_DIR`` and ``GIT_INDEX_FILE``). Commands run through
``subprocess`` rather than GitPython's ``execute``, which can add environment variables but not
remove them; GitPython finds the repository.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import git

from codeagent.errors import PatchError, WorkspaceError
from codeagent.tools.paths import confine, confine_entry, copy_tree

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

_PINNED = tuple(
    arg
    for setting in (
        "core.hooksPath=/dev/null",
        "commit.gpgSign=false",
        "core.fsmonitor=false",
        "core.quotePath=false",
        "diff.suppressBlankEmpty=false",
        "init.defaultBranch=codeagent",
    )
    for arg in ("-c", setting)
)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "codeagent",
    "GIT_AUTHOR_EMAIL": "codeagent@localhost",
    "GIT_COMMITTER_NAME": "codeagent",
    "GIT_COMMITTER_EMAIL": "codeagent@localhost",
    "GIT_TERMINAL_PROMPT": "0",
}
_REDIRECTS = frozenset(
    {
        *("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX"),
        *("GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE"),
    }
)
_DIFF = (
    *("diff", "--cached", "--relative", "--binary", "--no-renames", "--no-color", "-U3"),
    *("--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"),
)
_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A saved state of the files under a work copy's root (a git tree id); see ``restore``."""

    tree: str


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``apply_to_user`` did."""

    files: tuple[str, ...]
    """The files the patch changed, relative to the project path, sorted."""
    branch: str | None
    """The branch the fix was committed on (and the user's tree now has checked out)."""
    commit: str | None
    """The fix commit's id; ``None`` when only the working tree was patched."""


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
        repo = _Repo.find(path)
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
        out = _git(self.root, *_DIFF, self.baseline, "--", ".").stdout
        return out.decode("utf-8", "surrogateescape")

    def changed_paths(self) -> list[str]:
        """The paths (relative to ``root``, sorted) that ``diff`` would show."""
        self._stage()
        names = "--name-only", "-z", "--relative", "--no-renames"
        out = _git(self.root, "diff", "--cached", *names, self.baseline, "--", ".").stdout
        return sorted(n.decode("utf-8", "surrogateescape") for n in out.split(b"\0") if n)

    def snapshot(self) -> Snapshot:
        """Save the current state of every file under ``root`` (in the git object store: cheap,
        a few git commands whatever the number of files)."""
        self._stage()
        return Snapshot(_text(_git(self.root, "write-tree")))

    def restore(self, snapshot: Snapshot | None = None) -> None:
        """Put every file under ``root`` back as it was at ``snapshot`` (default: the baseline),
        content and mode exactly; files made since are removed (junk excepted)."""
        tree = snapshot.tree if snapshot is not None else f"{self.baseline}^{{tree}}"
        self._stage()
        _git(self.root, "read-tree", "--reset", "-u", tree)

    def close(self) -> None:
        """Remove the copy, and in a git repository its worktree entry. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._user_top is not None:
                remove = "worktree", "remove", "--force", str(self._top)
                _git(self._user_top, *remove, check=False)
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
        _git(self.root, "add", "--all", "--", ".", *_EXCLUDE)


def apply_to_user(
    path: Path,
    patch: str,
    *,
    commit: bool = True,
    message: str = "codeagent: fix the failing tests",
    branch: str | None = None,
) -> Applied:
    """Apply ``patch`` (paths relative to ``path``, as ``WorkCopy.diff`` makes them) to the user's
    tree at ``path``: all of it or nothing.

    In a git repository with a commit, a file the patch touches must have no uncommitted change
    (staged, unstaged or untracked), else ``WorkspaceError`` names them and nothing changes. With
    ``commit``, the fix is committed (only the patched files; no hooks, no signing) on a new branch
    ``branch`` (default ``codeagent/fix-<8 hex>``) from HEAD, which is then checked out: the user's
    uncommitted changes in other files stay as they were. Without ``commit``, or outside a
    repository, in one with no commit yet, or in a folder it ignores, only the files are patched.
    A patch that does not parse or apply raises ``PatchError``.
    """
    path = Path(os.path.realpath(path))
    if not path.is_dir():
        raise WorkspaceError(f"{path} is not a directory")
    data = patch.encode("utf-8", "surrogateescape")
    repo = _Repo.find(path)
    top, prefix = (path, "") if repo is None else (repo.top, _prefix(repo.top, path))
    tracked = repo is not None and repo.born and not _ignored(top, prefix)
    names = _touched(top, prefix, data)
    files = tuple(sorted(_unprefixed(prefix, name) for name in names))
    if tracked:
        _refuse_dirty(top, prefix, names)
    _apply(top, prefix, data, "--check")
    if not (tracked and commit):
        _apply(top, prefix, data)
        return Applied(files, None, None)
    name = branch or f"codeagent/fix-{secrets.token_hex(4)}"
    sha = _commit_patch(top, prefix, data, message)
    _git(top, "branch", "--no-track", name, sha)  # refuses a name that exists
    switched = _git(top, "switch", "--quiet", name, check=False)
    if switched.returncode != 0:
        _git(top, "branch", "--delete", "--force", name, check=False)
        raise WorkspaceError(f"cannot switch to {name}: {_stderr(switched)}; nothing was changed")
    return Applied(files, name, sha)


@dataclass(frozen=True, slots=True)
class _Repo:
    top: Path
    index: Path
    born: bool
    """HEAD names a commit (false in a repository with no commit yet)."""

    @staticmethod
    def find(path: Path) -> _Repo | None:
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        with repo:
            if repo.working_tree_dir is None:
                return None
            top = Path(os.path.realpath(repo.working_tree_dir))
            return _Repo(top, Path(repo.git_dir) / "index", repo.head.is_valid())


def _worktree_copy(repo: _Repo, path: Path) -> WorkCopy | None:
    """A linked worktree at a baseline commit; ``None`` if ``path`` is ignored or nothing under
    it is in the baseline (which leaves nothing behind)."""
    prefix = _prefix(repo.top, path)
    if _ignored(repo.top, prefix):
        return None
    temp = _temp_dir(repo.top)
    copy: WorkCopy | None = None
    try:
        baseline = _baseline(repo, prefix, temp / "index")
        top = temp / (repo.top.name or "project")
        _git(repo.top, "worktree", "add", "--detach", "--quiet", str(top), baseline)
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


def _baseline(repo: _Repo, prefix: str, index: Path) -> str:
    """A commit of HEAD's files but, under ``prefix``, the working tree's: HEAD itself when they
    are the same (nothing is written to the user's object store then), else a new commit on it.

    Built in a scratch index, so the user's index and files are only read. Starting from a copy of
    the user's index keeps its stat data, so ``add`` hashes only the files that changed.
    """
    head, head_tree = _text(_git(repo.top, "rev-parse", "HEAD", "HEAD^{tree}")).split()
    env = {"GIT_INDEX_FILE": str(index)}
    if repo.index.is_file():
        shutil.copy2(repo.index, index)  # its mtime too: git judges racily clean entries by it
        if _git(repo.top, "read-tree", "-m", head, env=env, check=False).returncode != 0:
            index.unlink()  # e.g. a merge in progress: start from HEAD alone
    if not index.exists():
        _git(repo.top, "read-tree", head, env=env)
    scope = f":(literal){prefix}" if prefix else "."
    _git(repo.top, "add", "--all", "--", scope, *_EXCLUDE, env=env)
    tree = _text(_git(repo.top, "write-tree", env=env))
    if tree == head_tree:
        return head
    message = f"codeagent baseline: the working tree of {prefix or '.'} as the user left it"
    return _text(_git(repo.top, "commit-tree", "--no-gpg-sign", "-p", head, "-m", message, tree))


def _plain_copy(path: Path) -> WorkCopy:
    temp = _temp_dir(path)
    try:
        top = temp / (path.name or "project")
        try:
            copy_tree(path, top, JUNK_DIRS | {".git"})
        except OSError as exc:
            raise WorkspaceError(f"cannot copy {path}: {exc}") from exc
        _git(top, "init", "--quiet", "--template=")
        _git(top, "add", "--all", "--", ".", *_EXCLUDE)
        tree = _text(_git(top, "write-tree"))
        baseline = _text(
            _git(top, "commit-tree", "--no-gpg-sign", "-m", "codeagent baseline", tree)
        )
        _git(top, "update-ref", "HEAD", baseline)
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
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".codeagent-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), mode)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def _touched(top: Path, prefix: str, data: bytes) -> list[str]:
    """The files ``data`` changes, relative to ``top`` (``git apply --numstat -z`` parsed)."""
    done = _git(top, "apply", "--numstat", "-z", *_directory(prefix), "-", stdin=data, check=False)
    if done.returncode != 0:
        raise PatchError(f"the patch does not parse: {_stderr(done)}")
    fields = done.stdout.split(b"\0")
    names: list[bytes] = []
    at = 0
    while at < len(fields):
        stats = fields[at].split(b"\t", 2)
        if len(stats) == 3 and stats[2]:
            names.append(stats[2])
            at += 1
        elif len(stats) == 3:  # a rename: "added\tdeleted\t" then the old and new name
            names.extend(fields[at + 1 : at + 3])
            at += 3
        else:
            at += 1
    if not names:
        raise PatchError("the patch changes no file")
    return sorted({n.decode("utf-8", "surrogateescape") for n in names})


def _refuse_dirty(top: Path, prefix: str, names: list[str]) -> None:
    status = "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--"
    out = _git(top, "--literal-pathspecs", *status, *names, env={"GIT_OPTIONAL_LOCKS": "0"})
    dirty = {e[3:].decode("utf-8", "surrogateescape") for e in out.stdout.split(b"\0") if e}
    if dirty:
        listed = ", ".join(sorted(_unprefixed(prefix, name) for name in dirty))
        raise WorkspaceError(
            f"refusing to apply: uncommitted changes in the files the fix touches ({listed}); "
            "commit or stash them and try again"
        )


def _apply(top: Path, prefix: str, data: bytes, *extra: str) -> None:
    args = "apply", "--whitespace=nowarn", *_directory(prefix), *extra, "-"
    done = _git(top, *args, stdin=data, check=False)
    if done.returncode != 0:
        raise PatchError(f"the patch does not apply: {_stderr(done)}")


def _commit_patch(top: Path, prefix: str, data: bytes, message: str) -> str:
    """A commit of HEAD with ``data`` applied, made in a scratch index (the user's is untouched)."""
    with tempfile.TemporaryDirectory(prefix="codeagent-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(top, "read-tree", "HEAD", env=env)
        done = _git(
            top, "apply", "--cached", *_directory(prefix), "-", env=env, stdin=data, check=False
        )
        if done.returncode != 0:
            raise PatchError(f"the patch does not apply to HEAD: {_stderr(done)}")
        tree = _text(_git(top, "write-tree", env=env))
    return _text(_git(top, "commit-tree", "--no-gpg-sign", "-p", "HEAD", "-m", message, tree))


def _directory(prefix: str) -> tuple[str, ...]:
    # `git apply` takes patch paths relative to the repository top (run from a subdirectory it
    # silently skips the files outside it), so it runs at the top with the prefix prepended.
    return (f"--directory={prefix}",) if prefix else ()


def _ignored(top: Path, prefix: str) -> bool:
    """Whether the repository at ``top`` ignores the folder ``prefix`` (the top never is)."""
    if not prefix:
        return False
    return _git(top, "check-ignore", "--quiet", "--", prefix, check=False).returncode == 0


def _unprefixed(prefix: str, name: str) -> str:
    return name.removeprefix(f"{prefix}/") if prefix else name


def _prefix(top: Path, path: Path) -> str:
    rel = path.relative_to(top).as_posix()
    return "" if rel == "." else rel


def _git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git with the pinned settings; ``WorkspaceError`` if it cannot run (or fails, with
    ``check``)."""
    full_env = {k: v for k, v in os.environ.items() if k not in _REDIRECTS}
    full_env.update(_IDENTITY)
    full_env.update(env or {})
    command = ["git", *_PINNED, *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=full_env,
            input=stdin,
            capture_output=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkspaceError(f"git {_verb(args)} could not run in {cwd}: {exc}") from exc
    if check and done.returncode != 0:
        raise WorkspaceError(f"git {_verb(args)} failed in {cwd}: {_stderr(done)}")
    return done


def _verb(args: tuple[str, ...]) -> str:
    return next((a for a in args if not a.startswith("-")), "")


def _text(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode("utf-8", "surrogateescape").strip()


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
