"""Running git on a repository codeagent does not own: the one way the tools call git.

Every git command runs with hooks, signing and fsmonitor switched off and an explicit identity
(the user may have none), diff output pinned to the plain git format whatever the user's config
says, and the environment variables that redirect git to another repository or index removed
(a git hook that runs codeagent exports ``GIT_DIR`` and ``GIT_INDEX_FILE``). Commands run through
``subprocess`` rather than GitPython's ``execute``, which can add environment variables but not
remove them; GitPython finds the repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from codeagent.errors import WorkspaceError

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
_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Repository:
    """The git repository a path is in, as far as the tools need to know it."""

    top: Path
    """The top of its working tree (real path)."""
    index: Path
    """Its index file (which may not exist yet)."""
    born: bool
    """HEAD names a commit (false in a repository with no commit yet)."""

    @staticmethod
    def find(path: Path) -> Repository | None:
        """The repository ``path`` is in (searching upwards); ``None`` outside one or in a bare
        repository."""
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        with repo:
            if repo.working_tree_dir is None:
                return None
            top = Path(os.path.realpath(repo.working_tree_dir))
            return Repository(top, Path(repo.git_dir) / "index", repo.head.is_valid())


def run_git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git with the pinned settings; ``WorkspaceError`` if it cannot run (or fails, with
    ``check``). ``env`` adds to (and may override) the scrubbed environment."""
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
        raise WorkspaceError(f"git {_verb(args)} failed in {cwd}: {stderr_text(done)}")
    return done


def stdout_text(done: subprocess.CompletedProcess[bytes]) -> str:
    """A command's output, stripped; bytes that are not UTF-8 as surrogate escapes."""
    return done.stdout.decode("utf-8", "surrogateescape").strip()


def stderr_text(done: subprocess.CompletedProcess[bytes]) -> str:
    """A command's error output for a message; its exit status if it wrote none."""
    return done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"


def prefix_of(top: Path, path: Path) -> str:
    """``path`` relative to the repository top ``top``, ``/``-separated; ``""`` for the top."""
    rel = path.relative_to(top).as_posix()
    return "" if rel == "." else rel


def is_ignored(top: Path, prefix: str) -> bool:
    """Whether the repository at ``top`` ignores the folder ``prefix`` (the top never is)."""
    if not prefix:
        return False
    return run_git(top, "check-ignore", "--quiet", "--", prefix, check=False).returncode == 0


def _verb(args: tuple[str, ...]) -> str:
    return next((a for a in args if not a.startswith("-")), "")
