"""The work copy's private git repository: an object store and a patch maker, and nothing else.

It lives in the work copy's temp folder, outside the copy's tree, and every command names it
explicitly (``--git-dir``) with no work tree at all: git never reads the copy, so nothing a test
or the model writes there (a ``.git``, a ``.gitattributes``, a hook) can redirect or extend our
git commands, and no attribute, filter, diff driver or textconv can apply. The user's and the
system's configuration are not read either (``GIT_CONFIG_GLOBAL=/dev/null``,
``GIT_CONFIG_NOSYSTEM``), so their diff settings cannot change a patch.

In a git repository it borrows the user's objects read-only (``objects/info/alternates``): the
tracked content is not duplicated, and git never writes through an alternate. Everything else
(untracked and ignored files, the model's writes) goes into its own store as loose objects
written here in Python (a write costs tens of microseconds, no process), and is gone with the
temp folder.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

from codeagent.errors import WorkspaceError
from codeagent.tools.gitcmd import run_git, stdout_text
from codeagent.tools.paths import blob_id

FILE_MODE = 0o100644
EXEC_MODE = 0o100755
LINK_MODE = 0o120000
_ZERO = "0" * 40
_CONFIG = """\
[core]
\trepositoryformatversion = 0
\tbare = true
\tautocrlf = false
\tattributesFile = /dev/null
\tfsmonitor = false
\thooksPath = /dev/null
[attr]
\ttree = 4b825dc642cb6eb9a060e54bf8d69288fbee4904
[gc]
\tauto = 0
"""
_DIFF = (
    *("diff-tree", "-r", "-p", "--text", "--no-renames", "--no-ext-diff", "--no-textconv"),
    *("--no-color", "-U3", "--src-prefix=a/", "--dst-prefix=b/"),
)


@dataclass(frozen=True, slots=True)
class Blob:
    """One side of a path in a patch: git's file mode and the content's blob id."""

    mode: int
    oid: str


class GitStore:
    """The private repository at ``git_dir``; make one with ``create``."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self._objects = git_dir / "objects"
        self._env = {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ATTR_NOSYSTEM": "1",
            "GIT_OPTIONAL_LOCKS": "0",
        }
        self._scratch = 0

    @classmethod
    def create(cls, git_dir: Path, borrow: Path | None = None) -> GitStore:
        """A new empty repository at ``git_dir`` (which must not exist), reading the object
        directory ``borrow`` too when given (a path git can name in an alternates file)."""
        (git_dir / "objects" / "info").mkdir(parents=True)
        (git_dir / "refs").mkdir()
        (git_dir / "HEAD").write_text("ref: refs/heads/codeagent\n")
        (git_dir / "config").write_text(_CONFIG)
        if borrow is not None and b"\n" not in os.fsencode(borrow) and borrow.is_dir():
            (git_dir / "objects" / "info" / "alternates").write_bytes(os.fsencode(borrow) + b"\n")
        return cls(git_dir)

    def put(self, data: bytes) -> str:
        """Store ``data`` as a blob (unless this store has it); its id."""
        oid = blob_id(data)
        folder = self._objects / oid[:2]
        path = folder / oid[2:]
        if path.exists():
            return oid
        folder.mkdir(exist_ok=True)
        self._scratch += 1
        scratch = folder / f"tmp_obj_{os.getpid()}_{self._scratch}"
        try:
            scratch.write_bytes(zlib.compress(b"blob %d\0" % len(data) + data, 1))
            os.chmod(scratch, 0o444)
            os.replace(scratch, path)
        except OSError as exc:
            scratch.unlink(missing_ok=True)
            raise WorkspaceError(f"cannot store a file's content: {exc}") from exc
        return oid

    def missing(self, oids: Iterable[str]) -> set[str]:
        """Those of ``oids`` that neither this store nor the borrowed one has."""
        wanted = "".join(f"{oid}\n" for oid in sorted(set(oids)))
        if not wanted:
            return set()
        out = self._git("cat-file", "--batch-check", stdin=wanted.encode()).stdout
        return {line.split()[0].decode() for line in out.splitlines() if line.endswith(b"missing")}

    def read(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The content of each blob of ``oids``; ``WorkspaceError`` if one is missing. Blobs
        this store wrote are read here; git is asked only for the borrowed ones."""
        found: dict[str, bytes] = {}
        wanted: list[str] = []
        for oid in sorted(set(oids)):
            data = self._loose(oid)
            if data is None:
                wanted.append(oid)
            else:
                found[oid] = data
        if not wanted:
            return found
        out = self._git("cat-file", "--batch", stdin="".join(f"{o}\n" for o in wanted).encode())
        data, at = out.stdout, 0
        for oid in wanted:
            end = data.index(b"\n", at)
            header = data[at:end].split()
            if len(header) != 3:
                raise WorkspaceError(f"the work copy's store lost the object {oid}")
            size = int(header[2])
            found[oid] = data[end + 1 : end + 1 + size]
            at = end + 2 + size
        return found

    def _loose(self, oid: str) -> bytes | None:
        """A blob this store keeps as a loose object (as ``put`` writes them), else ``None``."""
        try:
            raw = zlib.decompress((self._objects / oid[:2] / oid[2:]).read_bytes())
        except (OSError, zlib.error):
            return None
        header, _, data = raw.partition(b"\0")
        return data if header == b"blob %d" % len(data) else None

    def patch(self, before: Mapping[str, Blob], after: Mapping[str, Blob]) -> bytes:
        """A git patch from the paths of ``before`` to those of ``after`` (a path in one only is
        a new or a deleted file), with paths as given (``/``-separated, relative) under
        ``a/``/``b/`` prefixes, always as text (``--text``: no ``GIT binary patch``), no renames,
        three lines of context. Every blob must be in the store."""
        self._scratch += 1
        index = self.git_dir / f"index-{os.getpid()}-{self._scratch}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            self._git("update-index", "-z", "--index-info", stdin=_records(before), env=env)
            old = stdout_text(self._git("write-tree", env=env))
            gone = {path: Blob(0, _ZERO) for path in before if path not in after}
            new = _records({**gone, **after})
            self._git("update-index", "-z", "--index-info", stdin=new, env=env)
            tree = stdout_text(self._git("write-tree", env=env))
        finally:
            index.unlink(missing_ok=True)
        return self._git(*_DIFF, old, tree).stdout

    def _git(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> CompletedProcess[bytes]:
        full_env = {**self._env, **(env or {})}
        return run_git(self.git_dir, f"--git-dir={self.git_dir}", *args, stdin=stdin, env=full_env)


def _records(entries: Mapping[str, Blob]) -> bytes:
    """``update-index --index-info -z`` input: ``MODE SP OID TAB PATH NUL`` per entry."""
    return b"".join(
        b"%o %s\t%s\0" % (blob.mode, blob.oid.encode(), path.encode("utf-8", "surrogateescape"))
        for path, blob in sorted(entries.items())
    )
