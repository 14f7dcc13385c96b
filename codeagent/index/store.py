"""The on-disk cache of an index: where it lives and how it is read and written.

Layout (``FORMAT`` is in the directory name, so an old format is simply never read)::

    <dir>/state.marshal              the file table, skip list and graph arrays (one atomic write)
    <dir>/tags/ab/cdef…-<grammar>.tags  one file's tags, named by its ``FileEntry.key``

``<dir>`` is ``<git dir>/codeagent/index-v<FORMAT>`` in a git work tree, else
``$XDG_CACHE_HOME/codeagent/index-v<FORMAT>/<hash of the root path>``. Tags are keyed by content
(the git blob id) and by what parsed it (``languages.fingerprint``: language, grammar, query), not
by path or mtime: a renamed file, a branch switch or a revert costs no parse, and the same bytes
as C and as C++ are two entries. Every write is a temp file renamed into place, so a crash or a
concurrent run never leaves a torn file. Every file starts with ``MAGIC`` and the CRC-32 of the
rest, so a file damaged on disk (truncated, overwritten, bits flipped) is detected: anything
unreadable or damaged is treated as absent, and made again. A store that cannot be written (a
read-only disk, a directory it may not create) warns once and keeps nothing: the index is then
built in memory each time, never read from a half-written cache.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from array import array
from typing import Any, NamedTuple

from codeagent.index.files import Skipped, blob_id, git_dir
from codeagent.index.tags import FileTags

FORMAT = 4
MAGIC = b"CAIX"
"""The first bytes of every cache file; the CRC-32 of the rest follows (little-endian)."""


class FileEntry(NamedTuple):
    path: str
    language: str
    stamp: tuple[int, int, int, int]
    """``Candidate.stamp`` when the file was hashed."""
    blob: str
    grammar: str
    """``languages.fingerprint`` of what made its tags."""

    @property
    def key(self) -> str:
        """Its tags' key in the store: the same for the same bytes parsed the same way."""
        return f"{self.blob}-{self.grammar}"


class State:
    """Everything a warm run needs, aligned by file index (``files`` is sorted by path).

    A plain class, not a dataclass: ``codeagent index`` must start fast, and the ``dataclasses``
    module alone costs it more than 10 ms.
    """

    __slots__ = (
        "def_ident", "def_off", "files", "ident_mul", "idents", "ref_count", "ref_ident",
        "ref_off", "skipped", "stored_tags", "written_ns",
    )  # fmt: skip

    def __init__(
        self,
        files: list[FileEntry] | None = None,
        skipped: list[Skipped] | None = None,
        idents: list[str] | None = None,
        ident_mul: array[float] | None = None,
        stored_tags: int = 0,
    ) -> None:
        self.files: list[FileEntry] = files if files is not None else []
        self.skipped: list[Skipped] = skipped if skipped is not None else []
        self.idents: list[str] = idents if idents is not None else []
        self.ident_mul: array[float] = ident_mul if ident_mul is not None else array("d")
        self.def_off: array[int] = array("i", [0])
        self.def_ident: array[int] = array("i")
        self.ref_off: array[int] = array("i", [0])
        self.ref_ident: array[int] = array("i")
        self.ref_count: array[int] = array("i")
        self.stored_tags = stored_tags
        """Tag files written since the last garbage collection (an upper bound on the store)."""
        self.written_ns = 0
        """When the state file was written, by the filesystem's clock and at its granularity
        (its mtime when loaded; not stored): a file whose times are not older may have changed
        after it was hashed within one timestamp tick (racily clean, as git calls it)."""

    def to_data(self) -> tuple[Any, ...]:
        return (
            FORMAT,
            [tuple(f) for f in self.files],
            [(s.path, s.reason) for s in self.skipped],
            self.idents,
            self.stored_tags,
            *(a.tobytes() for a in self._arrays()),
        )

    @classmethod
    def from_data(cls, data: Any) -> State:
        version, files, skipped, idents, stored_tags, mul, *arrays = data
        if version != FORMAT:
            raise ValueError(f"state format {version}, expected {FORMAT}")
        state = cls(
            files=[FileEntry(p, lang, tuple(stamp), b, g) for p, lang, stamp, b, g in files],
            skipped=[Skipped(p, r) for p, r in skipped],
            idents=idents,
            stored_tags=stored_tags,
        )
        state.ident_mul = array("d", mul)
        for target, raw in zip(state._arrays()[1:], arrays, strict=True):
            del target[:]
            target.frombytes(raw)
        state.check()
        return state

    def check(self) -> None:
        """Raise ``ValueError`` unless the arrays fit each other and the file table. Cheap: no
        pass over the arrays' values (the store's checksum vouches for the bytes)."""
        files = len(self.files) + 1
        if not (
            len(self.def_off) == len(self.ref_off) == files
            and self.def_off[0] == self.ref_off[0] == 0
            and self.def_off[-1] == len(self.def_ident)
            and self.ref_off[-1] == len(self.ref_ident) == len(self.ref_count)
            and len(self.ident_mul) == len(self.idents)
        ):
            raise ValueError("the state's arrays do not fit together")

    def _arrays(self) -> tuple[array[Any], ...]:
        return (
            self.ident_mul,
            self.def_off,
            self.def_ident,
            self.ref_off,
            self.ref_ident,
            self.ref_count,
        )


class IndexStore:
    """The cache files in ``directory``. Reads never raise: damaged or unreadable is absent.
    Writes never raise either: the first that fails warns (logger ``codeagent.index.store``)
    and turns writing off for this store."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._tags = os.path.join(directory, "tags")
        self.writable = True
        """False once a write failed: nothing more is written."""

    @classmethod
    def for_root(cls, root: str) -> IndexStore:
        """The store for the repository at ``root`` (an absolute, resolved path)."""
        git = git_dir(root)
        if git is not None:
            return cls(os.path.join(git, "codeagent", f"index-v{FORMAT}"))
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        key = blob_id(root.encode())[:16]
        return cls(os.path.join(base, "codeagent", f"index-v{FORMAT}", key))

    def load_state(self) -> State | None:
        """The saved state, ``written_ns`` set; ``None`` if there is none or it is unreadable."""
        try:
            with open(os.path.join(self.directory, "state.marshal"), "rb") as handle:
                data = handle.read()
                written_ns = os.fstat(handle.fileno()).st_mtime_ns  # of the very file read
            state = State.from_data(marshal.loads(_unseal(data)))
        except (OSError, ValueError, EOFError, TypeError, IndexError):
            return None
        state.written_ns = written_ns
        return state

    def save_state(self, state: State) -> None:
        self._write(os.path.join(self.directory, "state.marshal"), marshal.dumps(state.to_data()))

    def get_tags(self, key: str) -> FileTags | None:
        """The tags stored under ``key`` (a ``FileEntry.key``); ``None`` if there are none, or
        they are unreadable or damaged."""
        try:
            return FileTags.from_data(marshal.loads(_unseal(_read(self._tag_path(key)))))
        except (OSError, ValueError, EOFError, TypeError, IndexError):
            return None

    def has_tags(self, key: str) -> bool:
        """Whether tags are stored under ``key``, undamaged (their checksum is read, not
        their values)."""
        try:
            _unseal(_read(self._tag_path(key)))
        except (OSError, ValueError):
            return False
        return True

    def put_tags(self, key: str, tags: FileTags) -> None:
        self._write(self._tag_path(key), marshal.dumps(tags.to_data()))

    def _write(self, path: str, data: bytes) -> None:
        if not self.writable:
            return
        try:
            _write_atomic(path, _seal(data))
        except OSError as exc:
            self.writable = False
            import logging  # noqa: PLC0415 - a warm run must not pay for it

            logging.getLogger(__name__).warning(
                "the index cache in %s cannot be written (%s): indexing without it",
                self.directory,
                exc.strerror or exc,
            )

    def collect_garbage(self, live: set[str]) -> int:
        """Delete the tags whose key is not in ``live``; returns how many went."""
        removed = 0
        if not self.writable or not os.path.isdir(self._tags):
            return 0
        try:
            for folder in os.scandir(self._tags):
                for entry in os.scandir(folder.path):
                    if folder.name + entry.name.removesuffix(".tags") not in live:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                        removed += 1
        except OSError:
            pass  # what is left is collected next time
        return removed

    def _tag_path(self, key: str) -> str:
        return os.path.join(self._tags, key[:2], f"{key[2:]}.tags")


def _seal(data: bytes) -> bytes:
    return MAGIC + zlib.crc32(data).to_bytes(4, "little") + data


def _unseal(sealed: bytes) -> bytes:
    """The data ``_seal`` wrapped; ``ValueError`` if it is not that, or damaged since."""
    data = sealed[8:]
    if sealed[:4] != MAGIC or sealed[4:8] != zlib.crc32(data).to_bytes(4, "little"):
        raise ValueError("not a cache file, or damaged")
    return data


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _write_atomic(path: str, data: bytes) -> None:
    """Write a sibling temp file, then rename it over ``path`` (atomic on POSIX)."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{name}")
    try:
        try:
            handle = open(tmp, "wb")  # noqa: SIM115
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            handle = open(tmp, "wb")  # noqa: SIM115
        with handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
