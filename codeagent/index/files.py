"""Which files of a repository to index, and what each one's content is (its git blob id).

In a git work tree the candidates are ``git ls-files --cached --others --exclude-standard``
(tracked plus untracked-but-not-ignored, so ``.gitignore`` is git's own). Elsewhere a walk that
never follows directory links (no symlink loops) and honours ``.gitignore`` files with the common
pattern forms. A candidate is skipped, with its reason, when it is a link, not a regular file, too
large, binary, or of a language we do not index.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import NamedTuple

from codeagent.index.languages import language_of

try:  # CPython's built-in SHA-1: no OpenSSL start-up (5 ms) for a 20-byte digest
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha1 as _sha1

MAX_BYTES = 1024 * 1024
"""Files above this are skipped: generated code, vendored bundles, data in disguise."""
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
                        ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache"})  # fmt: skip


class Candidate(NamedTuple):
    path: str
    """Relative to the root, with ``/`` separators."""
    language: str
    mtime_ns: int
    ctime_ns: int
    size: int
    inode: int

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        """What must be unchanged for a cached blob id to still hold (git's own shortcut).

        The ctime is there because the mtime can be set back (``touch -r``, ``cp -p``,
        ``rsync -t``) and the ctime cannot. A stamp alone cannot tell a rewrite within the
        filesystem's timestamp granularity: see ``refresh.split`` on racily clean entries."""
        return (self.mtime_ns, self.ctime_ns, self.size, self.inode)


class Skipped(NamedTuple):
    path: str
    reason: str


def blob_id(content: bytes) -> str:
    """The git blob id of ``content``: the same key git uses, so caches agree with git."""
    digest: str = _sha1(b"blob %d\0" % len(content) + content).hexdigest()
    return digest


def git_dir(root: str) -> str | None:
    """The git directory of the work tree at ``root`` (also for worktrees), or ``None``."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    if os.path.isfile(dot_git):
        with open(dot_git, encoding="utf-8", errors="replace") as handle:
            text = handle.read().strip()
        if text.startswith("gitdir:"):
            target = text.removeprefix("gitdir:").strip()
            return os.path.realpath(os.path.join(root, target))
    return None


def discover(root: str) -> tuple[list[Candidate], list[Skipped]]:
    """The files to index under ``root`` (sorted by path), and the ones skipped with reasons."""
    top = root
    names = _git_names(root) if git_dir(root) is not None else None
    found: list[tuple[str, str | None, os.stat_result | None]] = (
        [(n, language_of(n), None) for n in set(names)] if names is not None else list(_walk(top))
    )
    found.sort(key=lambda f: f[0])
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for name, language, walked in found:
        if language is None:
            continue  # not code we index; too common to list one by one
        try:
            info = walked or os.lstat(os.path.join(top, name))
        except OSError as exc:
            skipped.append(Skipped(name, f"unreadable: {exc.strerror}"))
            continue
        reason = _unindexable(info)
        if reason:
            skipped.append(Skipped(name, reason))
            continue
        candidates.append(
            Candidate(name, language, info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
        )
    return candidates, skipped


def read_checked(root: str, candidate: Candidate) -> tuple[bytes | None, str]:
    """The file's bytes, or ``None`` and the reason it cannot be indexed (binary, vanished)."""
    try:
        with open(os.path.join(root, candidate.path), "rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, f"unreadable: {exc.strerror}"
    if len(content) > MAX_BYTES:
        return None, f"too large (over {MAX_BYTES} bytes)"
    if b"\0" in content[:8192]:
        return None, "binary"
    return content, ""


def _unindexable(info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        return "symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > MAX_BYTES:
        return f"too large ({info.st_size} bytes, limit {MAX_BYTES})"
    return ""


def _git_names(root: str) -> list[str] | None:
    # Through the hardened runner: a repository's own config must not run anything (its
    # core.fsmonitor would, under a plain `git ls-files`). Imported here: only git work trees
    # pay for subprocess and pathlib.
    from pathlib import Path  # noqa: PLC0415

    from codeagent.errors import WorkspaceError  # noqa: PLC0415
    from codeagent.tools.gitcmd import run_git  # noqa: PLC0415

    names = "ls-files", "-z", "--cached", "--others", "--exclude-standard"
    try:
        out = run_git(Path(root), *names, timeout=60).stdout
    except WorkspaceError:
        return None  # git missing or the repository broken: fall back to walking
    return [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]


def _walk(top: str) -> Iterator[tuple[str, str | None, os.stat_result]]:
    """Every code file under ``top`` not ignored, with its language and ``lstat``.

    Directory links are never followed, so a link loop cannot trap the walk."""
    ignores: list[tuple[str, list[str]]] = []  # (directory prefix, patterns)
    pending = [""]
    while pending:
        prefix = pending.pop()
        folder = os.path.join(top, prefix) if prefix else top
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        if any(e.name == ".gitignore" for e in entries):
            ignores.append((prefix, _patterns(os.path.join(folder, ".gitignore"))))
        for entry in entries:
            rel = prefix + entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and entry.name in _SKIP_DIRS:
                continue
            language = None if is_dir else language_of(rel)
            if not is_dir and language is None:
                continue  # only code files are worth a stat
            if ignores and _ignored(rel, is_dir, ignores):
                continue
            if is_dir:
                pending.append(rel + "/")
            else:
                yield rel, language, entry.stat(follow_symlinks=False)


def _patterns(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _ignored(path: str, is_dir: bool, ignores: list[tuple[str, list[str]]]) -> bool:
    """gitignore semantics for the common forms: globs, ``dir/``, ``/anchored``, ``!negation``,
    ``**``. The last matching pattern wins, as in git."""
    ignored = False
    for prefix, patterns in ignores:
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        for pattern in patterns:
            negate = pattern.startswith("!")
            body = pattern[1:] if negate else pattern
            if body.endswith("/"):
                if not is_dir:
                    continue
                body = body[:-1]
            if _matches(rel, body):
                ignored = not negate
    return ignored


def _matches(rel: str, pattern: str) -> bool:
    import fnmatch  # noqa: PLC0415  (only walks that meet a .gitignore pay for it)

    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(rel, pattern[1:])
    if "/" in pattern.rstrip("/"):
        return fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(
            rel, pattern.replace("**/", "")
        )
    return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)
