"""The work copy between test runs (issue 13, items 10 and 11): it holds what the user's tests
need (ignored files, submodule contents), ``settle()`` undoes what a run left behind, and
``diff()`` never carries it. Real git repositories and real pytest runs in tmp_path.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeagent.errors import WorkspaceError
from codeagent.tools import baseline, workspace
from codeagent.tools.manifest import RACY_NS, Entry, compare
from codeagent.tools.paths import TreeCopy
from codeagent.tools.workspace import BASELINE_MAX_BYTES, WorkCopy, apply_to_user

IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
MEAN_BUGGY = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
MEAN_FIXED = "def mean(values):\n    return sum(values) / len(values)\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def commit_all(repo: Path, message: str = "commit") -> None:
    git(repo, "add", "--all")
    git(repo, *IDENTITY, "commit", "--quiet", "--no-verify", "-m", message)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def pytest_in(root: Path) -> subprocess.CompletedProcess[str]:
    """The project's tests, run in ``root`` the way a user runs them."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def make_project(top: Path) -> Path:
    """A repository whose tests leave by-products: ``last_run.txt`` in the project, a nested
    repository in ``scratch/``, and an ignored cache (``.cache/``) that a later run trusts."""
    git_init(top)
    write(top / ".gitignore", ".cache/\n")
    write(top / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = ['.']\n")
    write(top / "stats.py", MEAN_BUGGY)
    write(
        top / "tests" / "test_stats.py",
        "import json, pathlib, subprocess\n"
        "from stats import mean\n\n"
        "HERE = pathlib.Path(__file__).resolve().parent.parent\n\n\n"
        "def test_mean_cached():\n"
        "    cache = HERE / '.cache' / 'mean.json'\n"
        "    if cache.exists():\n"
        "        value = json.loads(cache.read_text())\n"
        "    else:\n"
        "        value = mean([1.0, 2.0, 3.0])\n"
        "        cache.parent.mkdir(exist_ok=True)\n"
        "        cache.write_text(json.dumps(value))\n"
        "    assert value == 2.0\n\n\n"
        "def test_leaves_things_behind():\n"
        "    (HERE / 'last_run.txt').write_text('ran\\n')\n"
        "    subprocess.run(['git', 'init', '-q', str(HERE / 'scratch')], check=True)\n",
    )
    commit_all(top, "initial")
    return top


def git_init(top: Path) -> None:
    top.mkdir(parents=True, exist_ok=True)
    git(top, "-c", "init.defaultBranch=main", "init", "--quiet")


# -- item 10: runs leave nothing behind -------------------------------------------------------


def test_by_products_never_reach_the_patch_and_settle_removes_them(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "user")
    write(repo / "last_run.txt", "the user's own, untracked\n")
    with WorkCopy.create(repo) as copy:
        (copy.root / "last_run.txt").unlink()
        copy.write("stats.py", MEAN_FIXED)
        run = pytest_in(copy.root)
        assert "2 passed" in run.stdout, run.stdout
        assert (copy.root / "scratch" / ".git").is_dir()
        assert (copy.root / ".cache" / "mean.json").is_file()
        assert copy.changed_paths() == ["stats.py"]
        patch = copy.diff()
        assert patch.count("diff --git") == 1
        assert copy.settle() == (".cache", "last_run.txt", "scratch")
        assert copy.read("last_run.txt") == "the user's own, untracked\n"  # put back
        assert not (copy.root / "scratch").exists()
        assert not (copy.root / ".cache").exists()
        assert copy.settle() == ()
        assert copy.read("stats.py") == MEAN_FIXED  # the copy's own write stays
    applied = apply_to_user(repo, patch)
    assert git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD") == "stats.py\n"
    assert applied.files == ("stats.py",)


def test_a_cache_written_by_a_buggy_run_does_not_outlive_it(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "user")
    with WorkCopy.create(repo) as copy:
        first = pytest_in(copy.root)
        assert "1 failed, 1 passed" in first.stdout, first.stdout
        copy.settle()
        copy.write("stats.py", MEAN_FIXED)
        assert "2 passed" in pytest_in(copy.root).stdout
        copy.settle()
        # The hazard settle removes: a buggy run's cache makes the right fix look wrong.
        copy.write("stats.py", MEAN_BUGGY)
        pytest_in(copy.root)
        copy.write("stats.py", MEAN_FIXED)
        assert "1 failed" in pytest_in(copy.root).stdout
        assert ".cache" in copy.settle()
        assert "2 passed" in pytest_in(copy.root).stdout


def test_settle_undoes_every_kind_of_change(tmp_path: Path) -> None:
    top = tmp_path / "user"
    git_init(top)
    proj = top / "proj"
    write(top / "conftest.py", "")
    write(top / "notes.txt", "not copied\n")
    write(proj / ".gitignore", "*.log\n")
    write(proj / "pkg" / "mod.py", "x = 1\n")
    write(proj / "pkg" / "data" / "table.csv", "a,b\n")
    write(proj / "run.sh", "#!/bin/sh\n")
    (proj / "run.sh").chmod(0o755)
    (proj / "alias").symlink_to("pkg/mod.py")
    commit_all(top)
    write(proj / "debug.log", "ignored\n")
    with WorkCopy.create(proj) as copy:
        assert (copy.top / "conftest.py").exists()
        assert not (copy.top / "notes.txt").exists()
        before = snapshot(copy.top)
        root = copy.root
        (root / "debug.log").write_text("changed, same size\n"[: len("ignored\n")])
        (root / "pkg" / "mod.py").write_text("x = 2\n")  # same size too
        (root / "run.sh").chmod(0o644)
        (root / "alias").unlink()
        (root / "alias").symlink_to("run.sh")
        (root / "pkg" / "data" / "table.csv").unlink()
        (root / "pkg" / "data").rmdir()
        (root / "pkg" / "data").write_text("a file where a folder was\n")
        write(root / "new" / "deep" / "file.txt", "x\n")
        (root / "new" / "deep").chmod(0o500)
        os.mkfifo(root / "pipe")
        (root / "dangling").symlink_to("nowhere")
        (copy.top / "conftest.py").write_text("import os\n")
        write(copy.top / "top_level_by_product.txt", "x\n")
        assert copy.settle() == (
            *("../conftest.py", "../top_level_by_product.txt", "alias", "dangling"),
            *("debug.log", "new", "pipe", "pkg/data", "pkg/data/table.csv", "pkg/mod.py"),
            "run.sh",
        )
        assert snapshot(copy.top) == before
        assert copy.settle() == ()
        assert copy.diff() == ""


def test_settle_rebuilds_a_tree_a_test_removed_whole(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    write(project / "pkg" / "mod.py", "x = 1\n")
    with WorkCopy.create(project) as copy:
        copy.write("pkg/new.py", "y = 1\n")
        before = snapshot(copy.top)
        shutil.rmtree(copy.top)
        assert copy.settle() == ("pkg", "pkg/mod.py", "pkg/new.py")
        assert snapshot(copy.top) == before


def snapshot(top: Path) -> dict[str, tuple[int, str]]:
    """Every entry under ``top``: its mode and content (a link's target)."""
    found: dict[str, tuple[int, str]] = {}
    for folder, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes().hex()
            else:
                content = ""
            found[path.relative_to(top).as_posix()] = (info.st_mode, content)
    return found


def test_own_writes_stay_and_adopt_the_folders_they_land_in(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "user")
    with WorkCopy.create(repo) as copy:
        write(copy.root / "made_by_test" / "junk.txt", "x\n")
        copy.write("made_by_test/module.py", "y = 1\n")
        copy.write("brand/new/module.py", "z = 1\n")
        copy.delete("stats.py")
        assert copy.settle() == ("made_by_test/junk.txt",)
        assert copy.read("made_by_test/module.py") == "y = 1\n"
        assert copy.read("brand/new/module.py") == "z = 1\n"
        assert not (copy.root / "stats.py").exists()
        write(copy.root / "stats.py", "made again by a test\n")
        assert copy.settle() == ("stats.py",)
        assert not (copy.root / "stats.py").exists()
        assert copy.changed_paths() == ["brand/new/module.py", "made_by_test/module.py", "stats.py"]


def test_a_file_over_the_limit_is_copied_again_only_while_the_users_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace, "BASELINE_MAX_BYTES", 1024)
    project = tmp_path / "plain"
    write(project / "big.bin", "b" * 2048)
    write(project / "small.txt", "s\n")
    with WorkCopy.create(project) as copy:
        with pytest.raises(WorkspaceError, match="over"):
            copy.write("big.bin", "replaced")
        (copy.root / "big.bin").write_text("changed by a test")
        assert copy.settle() == ("big.bin",)
        assert (copy.root / "big.bin").read_text() == "b" * 2048
        (project / "big.bin").write_text("the user changed it meanwhile")
        (copy.root / "big.bin").write_text("changed by a test")
        assert copy.settle() == ()  # cannot be put back: left as the test left it
        assert (copy.root / "big.bin").read_text() == "changed by a test"
    assert BASELINE_MAX_BYTES == 16 * 1024 * 1024


# -- settle is cheap ----------------------------------------------------------------------------


def test_settle_reads_no_content_once_nothing_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "many"
    for n in range(300):
        write(project / f"pkg{n % 10}" / f"mod{n}.py", f"x = {n}\n")
    hashed: list[int] = []
    real = baseline.blob_id
    monkeypatch.setattr(baseline, "blob_id", lambda data: hashed.append(1) or real(data))
    with WorkCopy.create(project) as copy:
        time.sleep(RACY_NS / 1e9 + 0.02)  # a test run's worth: no entry is racily clean now
        assert copy.settle() == ()
        hashed.clear()
        assert copy.settle() == ()
        assert hashed == []  # one lstat an entry, no content read
        (copy.root / "pkg3" / "mod3.py").write_text("x = 9\n")
        assert copy.settle() == ("pkg3/mod3.py",)
        assert len(hashed) == 1  # only the file whose stamp changed


def test_a_change_within_the_same_clock_tick_is_found() -> None:
    now = 10**18
    stamp = (stat.S_IFREG | 0o644, 6, now, now, 7)
    recorded = Entry(stamp, blob="b" * 40, checked_ns=now)
    # The same stamp, the file rewritten within the clock tick it was recorded in:
    assert compare({"a": recorded}, {"a": stamp}).suspect == ("a",)
    settled = Entry(stamp, blob="b" * 40, checked_ns=now + RACY_NS + 1)
    assert not compare({"a": settled}, {"a": stamp})
    replaced = (stat.S_IFREG | 0o644, 6, now, now, 8)  # another inode: renamed over it
    assert compare({"a": settled}, {"a": replaced}).suspect == ("a",)


# -- item 11: what the tests need is there ------------------------------------------------------


def test_ignored_files_and_submodule_contents_are_in_the_copy(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    git_init(lib)
    write(lib / "helper.py", "VALUE = 42\n")
    commit_all(lib)
    repo = tmp_path / "user"
    git_init(repo)
    write(repo / ".gitignore", "_version.py\n.env\ndata/\n")
    write(repo / "pyproject.toml", "[tool.pytest.ini_options]\npythonpath = ['.', 'vendor']\n")
    write(
        repo / "tests" / "test_env.py",
        "import pathlib\nfrom _version import version\nfrom lib.helper import VALUE\n\n"
        "HERE = pathlib.Path(__file__).resolve().parent.parent\n\n\n"
        "def test_what_the_build_made():\n"
        "    assert version == '1.2.3'\n"
        "    assert (HERE / '.env').read_text() == 'MODE=test\\n'\n"
        "    assert (HERE / 'data' / 'cases.txt').read_text() == '1 2 3\\n'\n"
        "    assert VALUE == 42\n",
    )
    subprocess.run(
        ["git", "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(lib),
         "vendor/lib"],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip
    commit_all(repo)
    write(repo / "_version.py", "version = '1.2.3'\n")
    write(repo / ".env", "MODE=test\n")
    write(repo / "data" / "cases.txt", "1 2 3\n")
    assert "1 passed" in pytest_in(repo).stdout
    with WorkCopy.create(repo) as copy:
        assert (copy.root / "vendor" / "lib" / "helper.py").read_text() == "VALUE = 42\n"
        assert not (copy.root / "vendor" / "lib" / ".git").exists()
        run = pytest_in(copy.root)
        assert "1 passed" in run.stdout, run.stdout
        (copy.root / "data" / "cases.txt").write_text("overwritten by a test\n")
        (copy.root / ".env").unlink()
        assert copy.settle() == (".env", "data/cases.txt")
        assert "1 passed" in pytest_in(copy.root).stdout
        with pytest.raises(WorkspaceError, match="ignores it"):
            copy.write("data/new.txt", "x")
        with pytest.raises(WorkspaceError, match="ignores it"):
            copy.delete(".env")


def test_a_project_inside_a_repository_keeps_the_configuration_above_it(tmp_path: Path) -> None:
    top = tmp_path / "user"
    git_init(top)
    write(top / "pytest.ini", "[pytest]\nmarkers =\n    slow: a slow test\n")
    write(top / "conftest.py", "import pytest\n\n\n@pytest.fixture\ndef answer():\n    return 42\n")
    write(top / "packages" / "conftest.py", "")
    write(top / "packages" / "tool.py", "not copied\n")
    write(
        top / "packages" / "calc" / "test_it.py", "def test_it(answer):\n    assert answer == 42\n"
    )
    commit_all(top)
    project = top / "packages" / "calc"
    assert "1 passed" in pytest_in(project).stdout
    with WorkCopy.create(project) as copy:
        assert (copy.top / "packages" / "conftest.py").exists()
        assert not (copy.top / "packages" / "tool.py").exists()
        run = pytest_in(copy.root)
        assert "1 passed" in run.stdout, run.stdout


# -- a copy that fails half way leaves nothing ---------------------------------------------------


def test_a_copy_that_fails_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    project = tmp_path / "plain"
    for n in range(5):
        write(project / f"m{n}.py", "x\n")
    copied: list[Path] = []
    real = TreeCopy._file

    def failing(self: TreeCopy, source: Path, target: Path) -> str | None:
        if len(copied) == 3:
            raise OSError(5, "Input/output error")
        copied.append(source)
        return real(self, source, target)

    monkeypatch.setattr(TreeCopy, "_file", failing)
    with pytest.raises(WorkspaceError, match=r"cannot copy .*Input/output error"):
        WorkCopy.create(project)
    assert len(copied) == 3
    assert list(temp.iterdir()) == []


def test_close_removes_folders_a_test_made_read_only(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    write(project / "m.py", "x\n")
    copy = WorkCopy.create(project)
    write(copy.root / "locked" / "inner" / "f.txt", "x\n")
    (copy.root / "locked" / "inner").chmod(0o500)
    (copy.root / "locked").chmod(0o500)
    copy.close()
    assert not copy.top.exists()
    assert not copy.top.parent.parent.exists()
