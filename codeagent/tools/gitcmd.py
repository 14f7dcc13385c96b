"""Running git on a repository codeagent does not own: the one way codeagent calls git.

Every git command runs with hooks, signing and fsmonitor switched off, no remote transport
(``protocol.allow=never``: a partial clone cannot fetch behind our back), an explicit identity
(the user may have none), diff output pinned to the plain git format whatever the user's config
says, and the environment variables that redirect git to another repository, index, attribute
source or diff program removed (a git hook that runs codeagent exports ``GIT_DIR`` and
``GIT_INDEX_FILE``). A command that reads or writes file content in the user's tree (``apply``,
``status``, ``switch``) also gets ``untrusted_drivers``: every filter, diff and merge driver the
configuration names is blanked, so a ``.git/config`` that came with a downloaded archive cannot
run its clean or smudge command.

No GitPython here (importing it costs ~100 ms, and ``codeagent index`` imports this module on
its warm path): ``Repository.find`` asks git itself, with the same hardening.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import WorkspaceError

_PINNED = tuple(
    arg
    for setting in (
        "core.hooksPath=/dev/null",
        "commit.gpgSign=false",
        "tag.gpgSign=false",
        "core.fsmonitor=false",
        "core.quotePath=false",
        "diff.suppressBlankEmpty=false",
        "init.defaultBranch=codeagent",
        "protocol.allow=never",
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
        *("GIT_ATTR_SOURCE", "GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_CONFIG_COUNT"),
    }
)
_DRIVER_KEY = re.compile(
    r"(filter\..+\.(clean|smudge|process)|diff\..+\.(command|textconv)|merge\..+\.driver)",
    re.DOTALL,
)
_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Repository:
    """The git repository a path is in, as far as the tools need to know it."""

    top: Path
    """The top of its working tree (real path)."""
    index: Path
    """Its index file (which may not exist yet)."""
    objects: Path
    """Its object directory (a linked worktree's is the main repository's)."""
    born: bool
    """HEAD names a commit (false in a repository with no commit yet)."""

    @staticmethod
    def find(path: Path) -> Repository | None:
        """The repository whose working tree holds ``path`` (searching upwards); ``None``
        outside one, in a bare repository or a ``.git`` folder, and when git names a top that
        does not hold ``path`` (a ``core.worktree`` pointing elsewhere)."""
        path = Path(os.path.realpath(path))
        ask = "rev-parse", "--show-toplevel", "--git-path", "index", "--git-path", "objects"
        done = run_git(path, *ask, check=False)
        lines = done.stdout.decode("utf-8", "surrogateescape").split("\n")
        if done.returncode != 0 or len(lines) != 4 or lines[3]:
            return None
        top = Path(os.path.realpath(lines[0]))
        if not path.is_relative_to(top):
            return None
        # --git-path answers relative to the folder git ran in, unless the path is elsewhere.
        index, objects = (Path(os.path.realpath(path / line)) for line in lines[1:3])
        head = run_git(top, "rev-parse", "--quiet", "--verify", "HEAD^{commit}", check=False)
        return Repository(top, index, objects, head.returncode == 0)


def run_git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
    timeout: float = _TIMEOUT_S,
) -> subprocess.CompletedProcess[bytes]:
    """Run git with the pinned settings; ``WorkspaceError`` if it cannot run (or fails, with
    ``check``). ``env`` adds to (and may override) the scrubbed environment. Global options
    (``-c``, ``--git-dir``) may lead ``args``."""
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
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkspaceError(f"git {_verb(args)} could not run in {cwd}: {exc}") from exc
    if check and done.returncode != 0:
        raise WorkspaceError(f"git {_verb(args)} failed in {cwd}: {stderr_text(done)}")
    return done


def untrusted_drivers(top: Path) -> dict[str, str]:
    """Environment that blanks every filter (clean, smudge, process), diff (command, textconv)
    and merge driver the configuration of the repository at ``top`` names, whatever file set
    it: pass it as ``env`` to commands that read or write content in the user's tree. Reading
    the configuration runs nothing."""
    done = run_git(top, "config", "--list", "--null", "--name-only", check=False)
    keys = sorted(
        {
            key
            for key in done.stdout.decode("utf-8", "surrogateescape").split("\0")
            if _DRIVER_KEY.fullmatch(key)
        }
    )
    env = {"GIT_CONFIG_COUNT": str(len(keys))}
    for at, key in enumerate(keys):
        env[f"GIT_CONFIG_KEY_{at}"] = key
        env[f"GIT_CONFIG_VALUE_{at}"] = ""
    return env


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
    """Whether the repository at ``top`` ignores ``prefix`` (a path relative to ``top``, which
    need not exist; a tracked file never is; the top never is)."""
    if not prefix:
        return False
    return run_git(top, "check-ignore", "--quiet", "--", prefix, check=False).returncode == 0


def _verb(args: tuple[str, ...]) -> str:
    """The git command in ``args``, past global options and their values."""
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg in ("-c", "-C"):
            takes_value = True
        elif not arg.startswith("-"):
            return arg
    return ""
