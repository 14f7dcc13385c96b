"""The work copy keeps the user's repository and the model's code apart (issue 13, items 8, 9,
12, 14 and 15): the user's ``.git`` is only read, its configuration runs nothing, patches are
text whatever the attributes say, odd folder names and huge files are no trouble.

Real git repositories in tmp_path; ``codeagent index`` and the user's git as real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.errors import WorkspaceError
from codeagent.tools.workspace import READ_MAX_BYTES, WorkCopy, apply_to_user

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
CANARY = "sk-canary-5b0c1e2f9a8d7c6b"
IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.com")


def git(cwd: Path, *args: str) -> str:
    """Plain git, as a user runs it (only where the repository's config is harmless)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    return done.stdout.decode("utf-8", "surrogateescape")


def make_repo(top: Path) -> Path:
    top.mkdir(parents=True)
    git(top, "-c", "init.defaultBranch=main", "init", "--quiet")
    (top / "pkg").mkdir()
    (top / "pkg" / "__init__.py").write_text("")
    (top / "pkg" / "mod.py").write_text(BUGGY)
    (top / "tests").mkdir()
    (top / "tests" / "test_mod.py").write_text("from pkg.mod import add\n")
    git(top, "add", "--all")
    git(top, *IDENTITY, "commit", "--quiet", "--no-verify", "-m", "initial")
    return top


def object_store(repo: Path) -> tuple[str, bytes]:
    """``count-objects -v`` and every object's content, from a git that ignores the config."""
    safe = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")
    counts = git(repo, *safe, "count-objects", "-v")
    every = subprocess.run(
        ["git", *safe, "cat-file", "--batch-all-objects", "--batch"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    return counts, every


# -- item 15: the user's .git is only read ----------------------------------------------------


def test_untracked_content_never_reaches_the_users_object_store(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "user")
    (repo / "data.bin").write_bytes(os.urandom(50 * 1024 * 1024))
    (repo / ".env").write_text(f"OPENAI_API_KEY={CANARY}\n")
    (repo / ".gitignore").write_text("secrets/\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "key.txt").write_text(f"{CANARY}\n")
    (repo / "pkg" / "mod.py").write_text(BUGGY + "# edited, not committed\n")
    counts, every = object_store(repo)
    assert CANARY.encode() not in every
    refs = sorted(p.relative_to(repo) for p in (repo / ".git").rglob("*") if p.is_file())
    with WorkCopy.create(repo) as copy:
        assert copy.read(".env") == f"OPENAI_API_KEY={CANARY}\n"
        copy.write("pkg/mod.py", FIXED)
        copy.write("pkg/extra.py", f"KEY = {CANARY!r}\n")
        assert "+    return a + b" in copy.diff()
        assert object_store(repo) == (counts, every)
        (copy.root / "data.bin").write_bytes(b"changed by a test")
        assert "data.bin" in copy.settle()  # over the limit: copied again from the user's file
        assert (copy.root / "data.bin").stat().st_size == 50 * 1024 * 1024
    assert object_store(repo) == (counts, every)
    assert sorted(p.relative_to(repo) for p in (repo / ".git").rglob("*") if p.is_file()) == refs


# -- item 9: the repository's configuration runs nothing ---------------------------------------


@pytest.fixture
def booby_trapped(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose ``.git/config``, hooks and attributes would each run a script that
    appends to a marker file: fsmonitor, hooks, an external diff, filter and diff drivers."""
    repo = make_repo(tmp_path / "trapped")
    marker = tmp_path / "ran.txt"
    script = tmp_path / "trap.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat\n')
    script.chmod(0o755)
    for hook in ("pre-commit", "post-checkout", "post-commit", "reference-transaction"):
        hooks = repo / ".git" / "hooks"
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f"[core]\n\tfsmonitor = {script}\n"
            f"[diff]\n\texternal = {script}\n"
            f'[filter "trap"]\n\tclean = {script}\n\tsmudge = {script}\n'
            f'[diff "trap"]\n\ttextconv = {script}\n\tcommand = {script}\n'
        )
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("*.py filter=trap diff=trap\n")
    (repo / ".gitattributes").write_text("* filter=trap diff=trap\n")
    # The trap works on anyone who does not defend against it:
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, check=True)
    assert marker.exists()
    marker.unlink()
    return repo, marker


def test_codeagent_index_runs_nothing_of_the_repository(booby_trapped: tuple[Path, Path]) -> None:
    repo, marker = booby_trapped
    env = {**os.environ, "XDG_CACHE_HOME": str(repo.parent / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "codeagent", "index", str(repo), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"pkg/mod.py"' in done.stdout or "pkg/mod.py" in done.stdout
    assert not marker.exists(), marker.read_text()


def test_work_copy_and_apply_run_nothing_of_the_repository(
    booby_trapped: tuple[Path, Path],
) -> None:
    repo, marker = booby_trapped
    with WorkCopy.create(repo) as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
        assert not marker.exists(), marker.read_text()
        (copy.root / "by-product.txt").write_text("a test wrote this\n")
        assert copy.settle() == ("by-product.txt",)
        assert copy.changed_paths() == ["pkg/mod.py"]
    assert "+    return a + b" in patch
    applied = apply_to_user(repo, patch)
    assert applied.commit is not None
    assert not marker.exists(), marker.read_text()
    assert (repo / "pkg" / "mod.py").read_text() == FIXED


PATCH = """diff --git a/pkg/mod.py b/pkg/mod.py
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""


@pytest.mark.parametrize("commit", [True, False])
def test_apply_runs_no_filter_driver_or_hook(
    booby_trapped: tuple[Path, Path], commit: bool
) -> None:
    repo, marker = booby_trapped
    applied = apply_to_user(repo, PATCH, commit=commit)
    assert (applied.commit is not None) == commit
    assert (repo / "pkg" / "mod.py").read_text() == FIXED
    assert not marker.exists(), marker.read_text()


# -- item 8: patches are text; git's own files are not the model's ------------------------------


def test_the_patch_is_text_whatever_the_attributes_say(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "user")
    (repo / ".gitattributes").write_text("*.py -diff binary\n")
    git(repo, "add", ".gitattributes")
    git(repo, *IDENTITY, "commit", "--quiet", "-m", "attributes")
    with WorkCopy.create(repo) as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
    assert "Binary" not in patch
    assert "GIT binary patch" not in patch
    assert "-    return a - b\n+    return a + b\n" in patch
    apply_to_user(repo, patch)
    assert (repo / "pkg" / "mod.py").read_text() == FIXED


@pytest.mark.parametrize(
    "rel", [".gitattributes", "pkg/.gitattributes", ".gitmodules", "a/b/.GitModules"]
)
def test_gits_own_files_are_refused(tmp_path: Path, rel: str) -> None:
    repo = make_repo(tmp_path / "user")
    (repo / "pkg" / ".gitattributes").write_text("*.txt text\n")
    (repo / ".gitmodules").write_text("")
    (repo / "alias").symlink_to("pkg/.gitattributes")
    with WorkCopy.create(repo) as copy:
        with pytest.raises(WorkspaceError, match="attributes and submodule"):
            copy.write(rel, "*.py -diff\n")
        with pytest.raises(WorkspaceError, match="attributes and submodule"):
            copy.write("alias", "*.py -diff\n")  # the file a link leads to counts
        if (copy.root / rel).exists():
            with pytest.raises(WorkspaceError, match="attributes and submodule"):
                copy.delete(rel)
        assert copy.diff() == ""
    assert (repo / "pkg" / ".gitattributes").read_text() == "*.txt text\n"


# -- item 12: a folder name that is not UTF-8 -------------------------------------------------


@pytest.mark.parametrize("layout", ["top", "inside", "plain"])
def test_a_folder_name_that_is_not_utf8(tmp_path: Path, layout: str) -> None:
    odd = os.fsdecode(b"proj\xff")
    if layout == "plain":
        project = tmp_path / odd
        project.mkdir()
        (project / "mod.py").write_text(BUGGY)
    else:
        top = make_repo(tmp_path / (odd if layout == "top" else "user"))
        project = top if layout == "top" else top / odd
        project.mkdir(exist_ok=True)
        (project / "mod.py").write_text(BUGGY)
        git(top, "add", "--all")
        git(top, *IDENTITY, "commit", "--quiet", "-m", "odd")
    (project / os.fsdecode(b"data\xfe.txt")).write_text("odd file name\n")
    with WorkCopy.create(project) as copy:
        # The copy's own folders get names any output can carry; the files keep theirs.
        assert str(copy.root).encode("utf-8")
        assert (copy.root / os.fsdecode(b"data\xfe.txt")).read_text() == "odd file name\n"
        copy.write("mod.py", FIXED)
        (copy.root / "by-product.txt").write_text("x\n")
        assert copy.settle() == ("by-product.txt",)
        patch = copy.diff()
    assert not copy.top.exists()
    assert patch.startswith("diff --git a/mod.py b/mod.py\n")
    if layout != "plain":
        listed = git(project, "worktree", "list", "--porcelain")
        assert listed.count("worktree ") == 1
    apply_to_user(project, patch, commit=False)
    assert (project / "mod.py").read_text() == FIXED


# -- item 14: reading is bounded ---------------------------------------------------------------


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    project.mkdir()
    (project / "mod.py").write_text(BUGGY)
    code = f"""
import os, resource, sys
from pathlib import Path
from codeagent.errors import WorkspaceError
from codeagent.tools.workspace import WorkCopy
with WorkCopy.create(Path({str(project)!r})) as copy:
    with open(copy.root / "huge.txt", "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB that cost no disk
    with open(copy.root / "edge.txt", "wb") as handle:
        handle.write(b"a" * {READ_MAX_BYTES})
    assert len(copy.read("edge.txt")) == {READ_MAX_BYTES}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        copy.read("huge.txt")
    except WorkspaceError as exc:
        print("refused:", exc)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("grew_kib", after - before)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "refused: huge.txt is too large to read (314572800 bytes; the limit is 4 MiB)" in (
        done.stdout
    )
    grew = int(done.stdout.split("grew_kib")[1])
    assert grew < 4 * 1024, done.stdout  # KiB: nothing near the file's 300 MB was read
