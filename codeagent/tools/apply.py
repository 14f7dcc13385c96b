"""Applying a finished fix to the user's tree.

``apply_to_user(path, patch)`` is the one function that writes to the user's tree; everything
before it happens in a ``WorkCopy`` (``tools.workspace``), whose ``diff()`` makes the patch.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import PatchError, WorkspaceError
from codeagent.tools.gitcmd import (
    Repository,
    is_ignored,
    prefix_of,
    run_git,
    stderr_text,
    stdout_text,
    untrusted_drivers,
)


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``apply_to_user`` did."""

    files: tuple[str, ...]
    """The files the patch changed, relative to the project path, sorted."""
    branch: str | None
    """The branch the fix was committed on (and the user's tree now has checked out)."""
    commit: str | None
    """The fix commit's id; ``None`` when only the working tree was patched."""


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
    A patch that does not parse or apply raises ``PatchError``. No filter, diff or merge driver
    the repository's configuration names runs (``gitcmd.untrusted_drivers``), nor any hook.
    """
    path = Path(os.path.realpath(path))
    if not path.is_dir():
        raise WorkspaceError(f"{path} is not a directory")
    data = patch.encode("utf-8", "surrogateescape")
    repo = Repository.find(path)
    top, prefix = (path, "") if repo is None else (repo.top, prefix_of(repo.top, path))
    tracked = repo is not None and repo.born and not is_ignored(top, prefix)
    env = untrusted_drivers(top)
    names = _touched(top, prefix, data, env)
    files = tuple(sorted(_unprefixed(prefix, name) for name in names))
    if tracked:
        _refuse_dirty(top, prefix, names, env)
    _apply(top, prefix, data, env, "--check")
    if not (tracked and commit):
        _apply(top, prefix, data, env)
        return Applied(files, None, None)
    name = branch or f"codeagent/fix-{secrets.token_hex(4)}"
    sha = _commit_patch(top, prefix, data, message, env)
    run_git(top, "branch", "--no-track", name, sha, env=env)  # refuses a name that exists
    switched = run_git(top, "switch", "--quiet", name, env=env, check=False)
    if switched.returncode != 0:
        run_git(top, "branch", "--delete", "--force", name, env=env, check=False)
        raise WorkspaceError(
            f"cannot switch to {name}: {stderr_text(switched)}; nothing was changed"
        )
    return Applied(files, name, sha)


def _touched(top: Path, prefix: str, data: bytes, env: dict[str, str]) -> list[str]:
    """The files ``data`` changes, relative to ``top`` (``git apply --numstat -z`` parsed)."""
    numstat = "apply", "--numstat", "-z", *_directory(prefix), "-"
    done = run_git(top, *numstat, stdin=data, env=env, check=False)
    if done.returncode != 0:
        raise PatchError(f"the patch does not parse: {stderr_text(done)}")
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


def _refuse_dirty(top: Path, prefix: str, names: list[str], env: dict[str, str]) -> None:
    status = "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--"
    env = {**env, "GIT_OPTIONAL_LOCKS": "0"}
    out = run_git(top, "--literal-pathspecs", *status, *names, env=env)
    dirty = {e[3:].decode("utf-8", "surrogateescape") for e in out.stdout.split(b"\0") if e}
    if dirty:
        listed = ", ".join(sorted(_unprefixed(prefix, name) for name in dirty))
        raise WorkspaceError(
            f"refusing to apply: uncommitted changes in the files the fix touches ({listed}); "
            "commit or stash them and try again"
        )


def _apply(top: Path, prefix: str, data: bytes, env: dict[str, str], *extra: str) -> None:
    args = "apply", "--whitespace=nowarn", *_directory(prefix), *extra, "-"
    done = run_git(top, *args, stdin=data, env=env, check=False)
    if done.returncode != 0:
        raise PatchError(f"the patch does not apply: {stderr_text(done)}")


def _commit_patch(top: Path, prefix: str, data: bytes, message: str, env: dict[str, str]) -> str:
    """A commit of HEAD with ``data`` applied, made in a scratch index (the user's is untouched)."""
    with tempfile.TemporaryDirectory(prefix="codeagent-") as scratch:
        env = {**env, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        run_git(top, "read-tree", "HEAD", env=env)
        cached = "apply", "--cached", *_directory(prefix), "-"
        done = run_git(top, *cached, env=env, stdin=data, check=False)
        if done.returncode != 0:
            raise PatchError(f"the patch does not apply to HEAD: {stderr_text(done)}")
        tree = stdout_text(run_git(top, "write-tree", env=env))
    commit = "commit-tree", "--no-gpg-sign", "-p", "HEAD", "-m", message, tree
    return stdout_text(run_git(top, *commit))


def _directory(prefix: str) -> tuple[str, ...]:
    # `git apply` takes patch paths relative to the repository top (run from a subdirectory it
    # silently skips the files outside it), so it runs at the top with the prefix prepended.
    return (f"--directory={prefix}",) if prefix else ()


def _unprefixed(prefix: str, name: str) -> str:
    return name.removeprefix(f"{prefix}/") if prefix else name
