"""The index cache never serves stale tags: racily clean stamps, and tags keyed by grammar too."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codeagent.index import languages, refresh
from codeagent.index.repo_index import RepoIndex
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
