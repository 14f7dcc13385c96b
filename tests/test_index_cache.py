"""The index cache never serves stale or wrong tags: racily clean stamps, tags keyed by grammar
too, a damaged cache detected and rebuilt, an unwritable one skipped with a warning."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codeagent.index import languages, refresh
from codeagent.index.repo_index import RepoIndex
from codeagent.index.store import IndexStore
from tests.test_index_repo import settle

OLD = "def old_name():\n    return 1\n\n\ndef caller():\n    return old_name()\n"
NEW = OLD.replace("old_name", "new_name")  # the same length: only the stamp's times can tell
SHAPE = "class Shape { public: int area(); };\nint Shape::area() { return 1; }\n"
FROZEN_NS = 1_700_000_000_000_000_000
_EXTRA = ("st_atime", "st_atime_ns", "st_blksize", "st_blocks", "st_rdev")


def git_repo(root: Path, files: dict[str, str]) -> Path:
    """A git work tree at ``root`` holding ``files``, untracked (git lists them all the same)."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, capture_output=True)
    for name, text in files.items():
        (root / name).write_text(text)
    settle(root)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", {"mod.py": OLD})


def frozen(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
    """``real`` on a filesystem whose clock never moves: every mtime and ctime is one value."""

    def stat(*args: Any, **kwargs: Any) -> os.stat_result:
        found = real(*args, **kwargs)
        fields = list(found)[:10]
        fields[8] = fields[9] = FROZEN_NS // 10**9
        extra = {name: getattr(found, name) for name in _EXTRA}
        extra.update(st_mtime=FROZEN_NS / 1e9, st_ctime=FROZEN_NS / 1e9)
        extra.update(st_mtime_ns=FROZEN_NS, st_ctime_ns=FROZEN_NS)
        return os.stat_result(fields, extra)

    return stat


def assert_renamed(index: RepoIndex) -> None:
    assert [loc.path for loc in index.lookup("new_name")] == ["mod.py"]
    assert index.lookup("old_name") == []
    assert "def new_name():" in index.repo_map(budget=4000).text


def test_same_size_rewrite_with_the_old_mtime_is_seen(repo: Path) -> None:
    RepoIndex.open(repo)
    path = repo / "mod.py"
    before = path.stat()
    path.write_text(NEW)  # as `cp -p` or `rsync -t --inplace` would leave it
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )
    index = RepoIndex.open(repo)
    assert_renamed(index)
    assert index.stats.rehashed == 1


def test_racily_clean_entries_on_a_clock_that_never_moves(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("stat", "lstat", "fstat"):  # the work tree's files and the state file alike
        monkeypatch.setattr(os, name, frozen(getattr(os, name)))
    RepoIndex.open(repo)
    (repo / "mod.py").write_text(NEW)  # same size, same inode, and the same (frozen) times
    assert_renamed(RepoIndex.open(repo))


def test_racily_clean_entries_are_hashed_again_only_once(repo: Path) -> None:
    cold = RepoIndex.open(repo)
    state_file = Path(cold.store.directory) / "state.marshal"
    written = (repo / "mod.py").stat().st_mtime_ns
    os.utime(state_file, ns=(written, written))  # as if the state was saved in the file's tick
    racy = RepoIndex.open(repo)
    assert (racy.stats.rehashed, racy.stats.parsed) == (1, 0)  # read again, same blob: no parse
    assert state_file.stat().st_mtime_ns > written  # saved again, so no longer racy
    warm = RepoIndex.open(repo)
    assert (warm.stats.rehashed, warm.stats.parsed) == (0, 0)


def test_identical_bytes_as_c_and_cpp_keep_their_own_tags(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {"a.c": SHAPE, "b.cpp": SHAPE})
    index = RepoIndex.open(repo)
    assert [(loc.path, loc.kind) for loc in index.lookup("Shape")] == [("b.cpp", "class")]
    assert index.tags("a.c").language == "c"
    (repo / "a.c").unlink()
    again = RepoIndex.open(repo)
    assert [(loc.path, loc.kind) for loc in again.lookup("Shape")] == [("b.cpp", "class")]
    assert "class Shape" in again.repo_map(budget=4000).text


def test_another_grammar_or_query_parses_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    RepoIndex.open(repo)
    monkeypatch.setattr(refresh, "fingerprint", lambda language: "0123456789abcdef")
    index = RepoIndex.open(repo)
    assert (index.stats.rehashed, index.stats.parsed) == (1, 1)
    assert index.lookup("old_name")
    assert RepoIndex.open(repo).stats.rehashed == 0  # and the new fingerprint is kept


def test_fingerprint_names_language_grammar_and_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprint = languages.fingerprint
    assert fingerprint("python") == fingerprint("python")
    assert fingerprint("c") != fingerprint("cpp")
    assert fingerprint("typescript") != fingerprint("tsx")  # one wheel and query, two grammars
    before = fingerprint("python")
    queries = tmp_path / "queries"
    queries.mkdir()
    edited = Path(languages.__file__).parent / "queries" / "python.scm"
    (queries / "python.scm").write_text(edited.read_text() + "\n; edited\n")
    monkeypatch.setattr(languages, "_QUERIES", str(queries))
    fingerprint.cache_clear()
    try:
        assert fingerprint("python") != before
    finally:
        fingerprint.cache_clear()


def test_garbage_collection_keeps_the_live_keys(repo: Path) -> None:
    RepoIndex.open(repo)
    (repo / "mod.py").write_text(NEW)
    index = RepoIndex.open(repo)
    live = {f.key for f in index.state.files}
    assert index.store.collect_garbage(live) == 1  # the tags of the old content
    assert index.store.collect_garbage(live) == 0
    (entry,) = index.state.files
    assert index.store.get_tags(entry.key) is not None


# -- a damaged or unwritable cache ------------------------------------------------------------

SHAPES = {
    "shapes.py": (
        "class Shape:\n    def area(self):\n        return 0\n\n\n"
        "class Square(Shape):\n    def area(self):\n        return side_of(self) ** 2\n\n\n"
        "def side_of(shape):\n    return 2\n"
    ),
    "report.py": (
        "from shapes import Square, side_of\n\n\n"
        "def describe_everything():\n    return Square().area() + side_of(None)\n"
    ),
    "main.py": (
        "from report import describe_everything\n\n\ndef main():\n    describe_everything()\n"
    ),
}


def answers(index: RepoIndex) -> tuple[Any, ...]:
    """What an index tells: its map toward a focus and without, and some lookups."""
    return (
        index.repo_map(budget=4000).text,
        index.repo_map(budget=4000, focus=["report.py"]).text,
        index.lookup("side_of"),
        index.lookup("Square.area"),
        [(c.path, c.line) for c in index.callers("describe_everything")],
    )


@pytest.fixture
def shapes(tmp_path: Path) -> tuple[Path, tuple[Any, ...]]:
    """A repository, its index cached, and what a cold index of it answers."""
    root = git_repo(tmp_path / "shapes", SHAPES)
    cold = RepoIndex.open(root)
    assert cold.stats.parsed == len(SHAPES)
    return root, answers(cold)


def state_path(root: Path) -> Path:
    return Path(RepoIndex.open(root).store.directory) / "state.marshal"


def tag_files(root: Path) -> list[Path]:
    return sorted((Path(RepoIndex.open(root).store.directory) / "tags").rglob("*.tags"))


def damage_arrays(data: bytes, raw: bytes, replacement: bytes) -> bytes:
    """``data`` with the one copy of the array bytes ``raw`` replaced (same length)."""
    assert len(raw) == len(replacement)
    assert data.count(raw) == 1
    return data.replace(raw, replacement)


@pytest.mark.parametrize(
    "damage", ["truncated", "garbage", "idents_swapped", "idents_out_of_range"]
)
def test_a_damaged_state_file_is_rebuilt_never_read_wrong(
    shapes: tuple[Path, tuple[Any, ...]], damage: str
) -> None:
    root, expected = shapes
    path = state_path(root)
    data = path.read_bytes()
    state = RepoIndex.open(root).state
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    else:  # the header and every length intact, the graph's numbers wrong
        raw = state.def_ident.tobytes()
        wrong = array("i", reversed(state.def_ident))
        if damage == "idents_out_of_range":
            wrong = array("i", [len(state.idents) + 1000] * len(state.def_ident))
        assert wrong != state.def_ident
        path.write_bytes(damage_arrays(data, raw, wrong.tobytes()))
    again = RepoIndex.open(root)
    assert again.stats.rehashed == len(SHAPES)  # the state was not trusted
    assert again.stats.parsed == 0  # the tags were fine
    assert answers(again) == expected
    assert RepoIndex.open(root).stats.rehashed == 0  # and a good state was saved again


@pytest.mark.parametrize("damage", ["truncated", "garbage", "emptied"])
@pytest.mark.parametrize("state", ["kept", "lost"])
def test_damaged_tags_are_parsed_again(
    shapes: tuple[Path, tuple[Any, ...]], damage: str, state: str
) -> None:
    root, expected = shapes
    for path in tag_files(root):
        data = path.read_bytes()
        replacement = {
            "truncated": data[: len(data) // 2],
            "garbage": os.urandom(len(data)),
            "emptied": data.replace(b"describe_everything", b"xxxxxxxxxxxxxxxxxxx"),
        }[damage]
        path.write_bytes(replacement)
    if state == "lost":  # every file hashed again: their tags' keys are found in the store
        state_path(root).unlink()
    index = RepoIndex.open(root)
    assert answers(index) == expected
    fresh = RepoIndex.open(root)
    assert answers(fresh) == expected
    assert fresh.stats.parsed == 0


def unwritable(tmp_path: Path, how: str) -> str:
    """A store directory that cannot be created."""
    if how == "parent_is_a_file":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a regular file")
        return str(blocker / "index")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return str(folder / "index")


@pytest.mark.parametrize("how", ["parent_is_a_file", "chmod"])
def test_an_unwritable_cache_is_skipped_with_a_warning(
    shapes: tuple[Path, tuple[Any, ...]],
    tmp_path: Path,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if how == "chmod" and hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root writes into a 0500 directory; the other case covers it")
    root, expected = shapes
    directory = unwritable(tmp_path, how)
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="codeagent.index"):
            index = RepoIndex.open(root, store=IndexStore(directory))
        assert index.stats.parsed == len(SHAPES)  # nothing could be kept: parsed each time
        assert answers(index) == expected
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, warnings  # once, not once per file
        assert directory in warnings[0]
        caplog.clear()
    assert not os.path.exists(directory)


def test_stored_tags_out_of_reach_are_parsed_again(
    shapes: tuple[Path, tuple[Any, ...]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, _ = shapes
    tags = Path(RepoIndex.open(root).store.directory) / "tags"
    shutil.rmtree(tags)
    tags.write_text("a file where the tags were: none can be read or stored")
    (root / "shapes.py").write_text(SHAPES["shapes.py"].replace("return 2", "return 3"))
    expected = answers(RepoIndex.open(root, store=IndexStore(str(tmp_path / "elsewhere"))))
    with caplog.at_level(logging.WARNING, logger="codeagent.index"):
        index = RepoIndex.open(root)
    assert answers(index) == expected
    assert [r for r in caplog.records if r.levelno == logging.WARNING]
