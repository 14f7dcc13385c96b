"""The work copy and apply_to_user, against real git repositories in tmp_path.

Every test runs with a global git config that has no identity and refuses to guess one
(``user.useConfigOnly``), and the test repositories have none either (their commits pass it on
the command line): whatever commits the code makes, it must name its own author.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from codeagent.errors import PatchError, WorkspaceError
from codeagent.tools.workspace import Applied, WorkCopy, apply_to_user

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
UTIL = "def twice(x):\n    return 2 * x\n"
NOTES = "notes outside the project\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def commit_all(repo: Path, message: str = "commit") -> None:
    git(repo, "add", "--all")
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    git(repo, *identity, "commit", "--quiet", "--no-verify", "-m", message)


def write(path: Path, text: str, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)


def tree_state(top: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``top`` except ``.git``: mode and content hash, or a link's target."""
    found: dict[str, tuple[str, str]] = {}
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*dirs, *files]:
            path = Path(folder, name)
            rel = path.relative_to(top).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = (oct(stat.S_IMODE(info.st_mode)), digest)
            else:
                found[rel] = ("dir", "")
    return found


def repo_state(repo: Path) -> tuple[object, ...]:
    """All a user could see of a repository: files, status, index bytes, branches, stashes, HEAD
    and the worktree list."""
    return (
        tree_state(repo),
        git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
        (repo / ".git" / "index").read_bytes(),
        git(repo, "branch", "--list", "--all", "--verbose"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "stash", "list"),
        git(repo, "worktree", "list", "--porcelain"),
    )


@pytest.fixture(autouse=True)
def global_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    config = tmp_path_factory.mktemp("home") / "gitconfig"
    config.write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{who}_EMAIL", raising=False)
    return config


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the project in ``proj/`` and files outside it."""
    top = tmp_path / "user"
    top.mkdir()
    git(top, "-c", "init.defaultBranch=main", "init", "--quiet")
    write(top / "README.md", "# top\n")
    write(top / "other" / "notes.txt", NOTES)
    write(top / "proj" / ".gitignore", "*.log\nbuild/\n")
    write(top / "proj" / "pkg" / "__init__.py", "")
    write(top / "proj" / "pkg" / "mod.py", BUGGY)
    write(top / "proj" / "pkg" / "util.py", UTIL)
    write(top / "proj" / "run.sh", "#!/bin/sh\necho run\n", mode=0o755)
    write(top / "proj" / "tests" / "test_mod.py", "from pkg.mod import add\n")
    commit_all(top, "initial")
    return top


def test_no_identity_is_configured_for_the_tests(repo: Path) -> None:
    # The setting the other tests rely on: git itself refuses to commit here.
    done = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=repo, check=False)
    assert done.returncode != 0


@pytest.mark.parametrize("project", ["proj", "."])
def test_the_copy_is_outside_the_users_tree_and_no_worktree(repo: Path, project: str) -> None:
    before = repo_state(repo)
    with WorkCopy.create(repo / project) as copy:
        assert not copy.root.is_relative_to(repo)
        assert not copy.top.is_relative_to(repo)
        assert copy.root.name == (repo / project).resolve().name
        assert copy.top.name == repo.name
        assert copy.read("proj/pkg/mod.py" if project == "." else "pkg/mod.py") == BUGGY
        assert copy.diff() == ""
        assert copy.changed_paths() == []
        assert copy.settle() == ()
        assert repo_state(repo) == before  # no worktree, branch or index entry while open
    assert not copy.top.exists()
    assert repo_state(repo) == before
    assert not (repo / ".git" / "worktrees").exists()


def test_the_copy_holds_what_the_user_sees_under_path(repo: Path) -> None:
    proj = repo / "proj"
    write(proj / "pkg" / "mod.py", "unstaged = 1\n")
    write(proj / "pkg" / "util.py", "staged = 1\n")
    git(repo, "add", "proj/pkg/util.py")
    write(proj / "pkg" / "util.py", "staged, then edited = 1\n")
    (proj / "pkg" / "__init__.py").unlink()
    git(repo, "rm", "--quiet", "proj/tests/test_mod.py")
    write(proj / "pkg" / "fresh.py", "untracked = 1\n")
    write(proj / "debug.log", "ignored, and copied all the same\n")
    write(proj / "pkg" / "__pycache__" / "mod.cpython-311.pyc", "junk")
    write(repo / "other" / "notes.txt", "changed outside the project\n")
    with WorkCopy.create(proj) as copy:
        assert copy.read("pkg/mod.py") == "unstaged = 1\n"
        assert copy.read("pkg/util.py") == "staged, then edited = 1\n"
        assert not (copy.root / "pkg" / "__init__.py").exists()
        assert not (copy.root / "tests" / "test_mod.py").exists()
        assert copy.read("pkg/fresh.py") == "untracked = 1\n"
        assert copy.read("debug.log") == "ignored, and copied all the same\n"
        assert not (copy.root / "pkg" / "__pycache__").exists()
        assert not (copy.top / "other").exists()  # outside the project: not copied
        assert not (copy.top / "README.md").exists()  # not pytest's configuration
        assert stat.S_IMODE((copy.root / "run.sh").stat().st_mode) == 0o755
        assert copy.diff() == ""
        assert copy.settle() == ()


def test_the_users_repository_is_left_exactly_as_it_was(repo: Path) -> None:
    proj = repo / "proj"
    write(proj / "pkg" / "mod.py", "unstaged = 1\n")
    write(proj / "pkg" / "util.py", "staged = 1\n")
    git(repo, "add", "proj/pkg/util.py")
    write(proj / "fresh.py", "untracked\n")
    before = repo_state(repo)
    with WorkCopy.create(proj) as copy:
        copy.write("pkg/mod.py", FIXED)
        copy.write("pkg/new/module.py", "x = 1\n")
        copy.delete("pkg/util.py")
        write(copy.root / "by-product.txt", "a test wrote this\n")
        assert copy.diff()
        assert copy.settle() == ("by-product.txt",)
        assert copy.changed_paths() == ["pkg/mod.py", "pkg/new/module.py", "pkg/util.py"]
        assert repo_state(repo) == before
    assert repo_state(repo) == before


def test_diff_is_a_git_patch_relative_to_the_root(repo: Path) -> None:
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        copy.write("pkg/new.py", "X = 1\n")
        copy.delete("pkg/util.py")
        write(copy.root / "pkg" / "__pycache__" / "mod.cpython-311.pyc", "junk")
        write(copy.root / ".pytest_cache" / "v" / "cache" / "lastfailed", "{}")
        write(copy.root / ".coverage", "junk")
        write(copy.root / "run.log", "ignored by the project's .gitignore")
        write(copy.root.parent / "other" / "notes.txt", "outside the root\n")
        assert copy.changed_paths() == ["pkg/mod.py", "pkg/new.py", "pkg/util.py"]
        patch = copy.diff()
    assert patch.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert "-    return a - b\n+    return a + b\n" in patch
    assert "diff --git a/pkg/new.py b/pkg/new.py\nnew file mode 100644\n" in patch
    assert "+++ b/pkg/new.py\n@@ -0,0 +1 @@\n+X = 1\n" in patch
    assert "diff --git a/pkg/util.py b/pkg/util.py\ndeleted file mode 100644\n" in patch
    assert patch.count("diff --git") == 3


def test_diff_ignores_the_users_diff_settings(repo: Path) -> None:
    settings = (
        *("diff.noprefix=true", "diff.mnemonicPrefix=true", "diff.external=false"),
        *("color.ui=always", "diff.renames=true", "diff.suppressBlankEmpty=true"),
    )
    for setting in settings:
        git(repo, "config", *setting.split("="))
    write(repo / "proj" / "pkg" / "__init__.py", "a = 1\n\nb = 2\n")
    commit_all(repo)
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/moved.py", UTIL)
        copy.delete("pkg/util.py")
        copy.write("pkg/__init__.py", "a = 1\n\nb = 3\n")
        patch = copy.diff()
    assert "diff --git a/pkg/moved.py b/pkg/moved.py\nnew file mode" in patch
    assert "@@ -1,3 +1,3 @@\n a = 1\n \n-b = 2\n+b = 3\n" in patch
    assert "rename" not in patch
    assert "\x1b[" not in patch


def test_settle_brings_back_exact_bytes_and_modes_and_keeps_own_writes(repo: Path) -> None:
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", "candidate A\n")
        copy.delete("pkg/util.py")
        copy.write("pkg/deep/new.py", "x = 1\n")
        expected = tree_state(copy.top)
        # What a test run might do to the tree, behind the copy's back:
        write(copy.root / "pkg" / "mod.py", "changed by a test\n")
        write(copy.root / "run.sh", "#!/bin/sh\necho changed\n")
        (copy.root / "run.sh").chmod(0o644)
        (copy.root / "tests" / "test_mod.py").unlink()
        write(copy.root / "pkg" / "util.py", "made again by a test\n")
        write(copy.root / "pkg" / "deep" / "extra.py", "y = 2\n")
        write(copy.root / "new_dir" / "sub" / "data.json", "{}")
        (copy.root / "link").symlink_to("pkg")
        assert copy.settle() == (
            *("link", "new_dir", "pkg/deep/extra.py", "pkg/mod.py", "pkg/util.py"),
            *("run.sh", "tests/test_mod.py"),
        )
        assert tree_state(copy.top) == expected
        assert copy.settle() == ()
        assert copy.changed_paths() == ["pkg/deep/new.py", "pkg/mod.py", "pkg/util.py"]


def test_write_is_atomic_keeps_the_mode_and_makes_folders(repo: Path) -> None:
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("run.sh", "#!/bin/sh\necho fixed\n")
        copy.write("pkg/sub/deeper/new.py", "z = 3\n")
        assert stat.S_IMODE((copy.root / "run.sh").stat().st_mode) == 0o755
        assert stat.S_IMODE((copy.root / "pkg/sub/deeper/new.py").stat().st_mode) == 0o644
        assert copy.read("pkg/sub/deeper/new.py") == "z = 3\n"
        assert sorted(p.name for p in copy.root.iterdir()) == [
            *(".gitignore", "pkg", "run.sh", "tests")
        ]
        with pytest.raises(WorkspaceError, match="directory"):
            copy.write("pkg", "not a folder any more")
        with pytest.raises(WorkspaceError, match="Unicode"):
            copy.write("pkg/mod.py", "lone \udcff surrogate")
        assert copy.read("pkg/mod.py") == BUGGY


def test_read_keeps_line_endings_and_refuses_what_is_not_utf8_text(repo: Path) -> None:
    (repo / "proj" / "crlf.py").write_bytes("\ufeffa = 'é'\r\nb = 2\r\n".encode())
    (repo / "proj" / "blob.bin").write_bytes(b"\x89PNG\r\n\x00\x00")
    (repo / "proj" / "latin.py").write_bytes(b"name = 'caf\xe9'\n")
    commit_all(repo)
    with WorkCopy.create(repo / "proj") as copy:
        text = copy.read("crlf.py")
        assert text == "\ufeffa = 'é'\r\nb = 2\r\n"
        copy.write("crlf.py", text)
        assert copy.diff() == ""
        with pytest.raises(WorkspaceError, match="binary"):
            copy.read("blob.bin")
        with pytest.raises(WorkspaceError, match="not UTF-8"):
            copy.read("latin.py")
        with pytest.raises(WorkspaceError, match="not a regular file"):
            copy.read("pkg")
        with pytest.raises(WorkspaceError, match="cannot read"):
            copy.read("pkg/missing.py")
        with pytest.raises(WorkspaceError, match="cannot delete"):
            copy.delete("pkg/missing.py")


def _read(copy: WorkCopy, rel: str) -> object:
    return copy.read(rel)


def _write(copy: WorkCopy, rel: str) -> object:
    copy.write(rel, "escaped = True\n")
    return None


def _delete(copy: WorkCopy, rel: str) -> object:
    copy.delete(rel)
    return None


OPERATIONS = [_read, _write, _delete]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "rel",
    [
        *("../outside.txt", "../../outside.txt", "pkg/../../outside.txt", "/etc/passwd"),
        *("pkg/\0mod.py", "", ".", ".git/config", "pkg/.git/hooks/pre-commit"),
        "pkg/../pkg/mod.py",  # inside, but '..' is refused outright rather than reasoned about
    ],
)
def test_paths_that_leave_the_root_are_refused(
    repo: Path, tmp_path: Path, rel: str, operation: Callable[[WorkCopy, str], object]
) -> None:
    write(tmp_path / "outside.txt", "outside\n")
    before = tree_state(tmp_path)
    with WorkCopy.create(repo / "proj") as copy:
        write(copy.root.parent / "outside.txt", "outside the root, inside the copy\n")
        with pytest.raises(WorkspaceError):
            operation(copy, rel)
        assert (copy.root.parent / "outside.txt").read_text().startswith("outside the root")
        assert copy.diff() == ""
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "rel", ["leak.txt", "linkdir/secret.txt", "linkdir/new.py", "up/outside/secret.txt"]
)
def test_links_that_leave_the_copy_are_refused(
    repo: Path, tmp_path: Path, rel: str, operation: Callable[[WorkCopy, str], object]
) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "secret\n")
    before = tree_state(outside)
    with WorkCopy.create(repo / "proj") as copy:
        (copy.root / "leak.txt").symlink_to(outside / "secret.txt")
        (copy.root / "linkdir").symlink_to(outside)
        (copy.root / "up").symlink_to(Path(os.path.relpath(tmp_path, copy.root)))
        if operation is _delete and rel == "leak.txt":
            copy.delete(rel)  # removing the link itself stays inside the copy
            assert not (copy.root / rel).is_symlink()
        else:
            with pytest.raises(WorkspaceError, match="symbolic link"):
                operation(copy, rel)
    assert tree_state(outside) == before


def test_links_inside_the_copy_are_followed(repo: Path) -> None:
    (repo / "proj" / "alias.py").symlink_to("pkg/mod.py")
    (repo / "proj" / "pkg_alias").symlink_to("pkg")
    commit_all(repo)
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("alias.py", FIXED)
        copy.write("pkg_alias/util.py", "changed = 1\n")
        assert (copy.root / "alias.py").is_symlink()
        assert copy.read("pkg/mod.py") == FIXED
        assert copy.read("alias.py") == FIXED
        assert copy.read("pkg/util.py") == "changed = 1\n"
        assert copy.changed_paths() == ["pkg/mod.py", "pkg/util.py"]


def test_a_plain_directory_gets_a_temp_copy(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    write(project / "pkg" / "mod.py", BUGGY)
    write(project / "pkg" / "__pycache__" / "mod.cpython-311.pyc", "junk")
    write(project / ".venv" / "bin" / "python", "not copied")
    write(project / "node_modules" / "x" / "index.js", "not copied")
    (project / "loop_a").symlink_to("loop_b")
    (project / "loop_b").symlink_to("loop_a")
    (project / "pkg" / "self").symlink_to("..")
    (project / "escape").symlink_to(tmp_path)
    before = tree_state(project)
    with WorkCopy.create(project) as copy:
        assert not copy.root.is_relative_to(project)
        assert copy.read("pkg/mod.py") == BUGGY
        assert os.readlink(copy.root / "loop_a") == "loop_b"
        assert os.readlink(copy.root / "pkg" / "self") == ".."
        for skipped in ("pkg/__pycache__", ".venv", "node_modules"):
            assert not (copy.root / skipped).exists()
        with pytest.raises(WorkspaceError):
            copy.read("loop_a")
        with pytest.raises(WorkspaceError, match="symbolic link"):
            copy.write("escape/plain/pkg/mod.py", FIXED)
        (copy.root / "cfg").symlink_to(".git/config")
        with pytest.raises(WorkspaceError, match=r"\.git"):
            copy.write("cfg", "[core]\n\thooksPath = /tmp\n")
        copy.write("pkg/mod.py", FIXED)
        assert copy.changed_paths() == ["pkg/mod.py"]  # a link the copy did not make: not ours
        copy.delete("cfg")
        patch = copy.diff()
        assert patch.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert not copy.root.exists()
    assert tree_state(project) == before
    applied = apply_to_user(project, patch)
    assert applied == Applied(("pkg/mod.py",), None, None)
    assert (project / "pkg" / "mod.py").read_text() == FIXED
    with pytest.raises(PatchError, match="does not apply"):
        apply_to_user(project, patch)
    assert (project / "pkg" / "mod.py").read_text() == FIXED


def test_a_repository_without_commits_gets_a_temp_copy(tmp_path: Path) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    git(project, "init", "--quiet")
    write(project / "mod.py", BUGGY)
    write(project / ".gitignore", "*.log\n")
    git(project, "add", "mod.py")
    before = tree_state(project)
    with WorkCopy.create(project) as copy:
        assert copy.read("mod.py") == BUGGY
        assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1
        copy.write("mod.py", FIXED)
        patch = copy.diff()
    assert tree_state(project) == before
    with pytest.raises(WorkspaceError, match="not a directory"):
        WorkCopy.create(project / "mod.py")
    # No commit to branch from: the fix is applied to the files only.
    assert apply_to_user(project, patch) == Applied(("mod.py",), None, None)
    assert (project / "mod.py").read_text() == FIXED


def test_an_ignored_project_folder_gets_a_temp_copy(repo: Path) -> None:
    tool = repo / "proj" / "build" / "tool"
    write(tool / "main.py", BUGGY)
    with WorkCopy.create(tool) as copy:
        assert copy.read("main.py") == BUGGY
        assert not (copy.root.parent / "pkg").exists()
        copy.write("main.py", FIXED)
        patch = copy.diff()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    # The repository does not hold these files, so there is nothing to commit them on.
    assert apply_to_user(tool, patch) == Applied(("main.py",), None, None)
    assert (tool / "main.py").read_text() == FIXED
    assert git(repo, "branch", "--list") == "* main\n"


def test_close_is_idempotent_and_survives_a_vanished_copy(repo: Path) -> None:
    copy = WorkCopy.create(repo / "proj")
    shutil.rmtree(copy.top)
    copy.close()
    copy.close()
    assert not copy.top.parent.exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_hooks_and_signing_in_the_users_config_never_run(
    repo: Path, tmp_path: Path, global_config: Path
) -> None:
    hooks = tmp_path / "hooks"
    ran = tmp_path / "hooks-ran"
    for hook in ("pre-commit", "commit-msg", "post-commit", "post-checkout", "post-index-change"):
        write(hooks / hook, f"#!/bin/sh\necho {hook} >> {ran}\nexit 1\n", mode=0o755)
    write(hooks / "reference-transaction", f"#!/bin/sh\necho ref >> {ran}\nexit 1\n", mode=0o755)
    with global_config.open("a") as config:
        config.write(f"[core]\n\thooksPath = {hooks}\n[commit]\n\tgpgSign = true\n")
        config.write("[gpg]\n\tprogram = false\n")
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    plain = subprocess.run(
        ["git", *identity, "commit", "--allow-empty", "-m", "x"], cwd=repo, check=False
    )
    assert plain.returncode != 0
    assert ran.exists()  # the hooks bite anyone who does not switch them off
    ran.unlink()
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
        copy.settle()
    applied = apply_to_user(repo / "proj", patch)
    assert not ran.exists()
    assert applied.commit is not None
    assert "gpgsig" not in git(repo, "cat-file", "commit", applied.commit)


@pytest.mark.parametrize("project", ["proj", "."])
def test_apply_commits_the_fix_on_a_new_branch(repo: Path, project: str) -> None:
    prefix = "proj/" if project == "." else ""
    start = git(repo, "rev-parse", "HEAD").strip()
    with WorkCopy.create(repo / project) as copy:
        copy.write(f"{prefix}pkg/mod.py", FIXED)
        copy.write(f"{prefix}pkg/new.py", "X = 1\n")
        copy.delete(f"{prefix}pkg/util.py")
        patch = copy.diff()
    applied = apply_to_user(repo / project, patch, message="fix add")
    assert applied.files == tuple(f"{prefix}pkg/{n}" for n in ("mod.py", "new.py", "util.py"))
    assert applied.branch is not None
    assert applied.branch.startswith("codeagent/fix-")
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == applied.branch
    assert git(repo, "rev-parse", "HEAD").strip() == applied.commit
    assert git(repo, "rev-parse", "HEAD^").strip() == start
    changed = git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split()
    assert changed == [f"proj/pkg/{n}" for n in ("mod.py", "new.py", "util.py")]
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>|%s")
        == "codeagent <codeagent@localhost>|fix add\n"
    )
    assert (repo / "proj" / "pkg" / "mod.py").read_text() == FIXED
    assert (repo / "proj" / "pkg" / "new.py").read_text() == "X = 1\n"
    assert not (repo / "proj" / "pkg" / "util.py").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_apply_keeps_the_users_other_uncommitted_changes(repo: Path) -> None:
    write(repo / "other" / "notes.txt", "edited outside\n")
    write(repo / "proj" / "pkg" / "util.py", "staged = 1\n")
    git(repo, "add", "proj/pkg/util.py")
    write(repo / "proj" / "scratch.txt", "untracked\n")
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
    applied = apply_to_user(repo / "proj", patch, branch="fix-it")
    assert applied.branch == "fix-it"
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "fix-it\n"
    assert git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD") == (
        "proj/pkg/mod.py\n"
    )
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == status
    assert (repo / "other" / "notes.txt").read_text() == "edited outside\n"
    assert git(repo, "diff", "--cached", "--name-only") == "proj/pkg/util.py\n"
    assert (repo / "proj" / "scratch.txt").read_text() == "untracked\n"
    assert (repo / "proj" / "pkg" / "mod.py").read_text() == FIXED


@pytest.mark.parametrize("change", ["unstaged", "staged", "untracked"])
def test_apply_refuses_over_uncommitted_changes_in_touched_files(repo: Path, change: str) -> None:
    target = repo / "proj" / "pkg" / ("extra.py" if change == "untracked" else "mod.py")
    write(target, BUGGY + "# the user's edit\n")
    if change == "staged":
        git(repo, "add", "proj/pkg/mod.py")
    with WorkCopy.create(repo / "proj") as copy:
        copy.write(f"pkg/{target.name}", FIXED)
        copy.write("pkg/util.py", "clean file, also changed\n")
        patch = copy.diff()
    before = repo_state(repo)
    with pytest.raises(WorkspaceError, match=rf"uncommitted changes .*\(pkg/{target.name}\)"):
        apply_to_user(repo / "proj", patch)
    assert repo_state(repo) == before


def test_apply_without_commit_patches_the_working_tree_only(repo: Path) -> None:
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
    head = git(repo, "rev-parse", "HEAD")
    applied = apply_to_user(repo / "proj", patch, commit=False)
    assert applied == Applied(("pkg/mod.py",), None, None)
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main\n"
    assert git(repo, "status", "--porcelain") == " M proj/pkg/mod.py\n"
    assert (repo / "proj" / "pkg" / "mod.py").read_text() == FIXED


def test_apply_refuses_a_stale_or_broken_patch_and_changes_nothing(repo: Path) -> None:
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        copy.write("pkg/util.py", "changed\n")
        patch = copy.diff()
    write(repo / "proj" / "pkg" / "mod.py", "def add(a, b):\n    return b - a\n")
    commit_all(repo, "the file moved on")
    before = repo_state(repo)
    with pytest.raises(PatchError, match="does not apply"):
        apply_to_user(repo / "proj", patch)
    with pytest.raises(PatchError, match="does not parse"):
        apply_to_user(repo / "proj", "this is not a patch\n")
    assert repo_state(repo) == before


def test_apply_refuses_a_branch_that_exists(repo: Path) -> None:
    git(repo, "branch", "taken")
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
    before = repo_state(repo)
    with pytest.raises(WorkspaceError, match="taken"):
        apply_to_user(repo / "proj", patch, branch="taken")
    assert repo_state(repo) == before


def test_apply_that_cannot_switch_branches_leaves_no_branch(repo: Path) -> None:
    git(repo, "switch", "--quiet", "-c", "theirs")
    write(repo / "other" / "notes.txt", "theirs\n")
    commit_all(repo, "theirs")
    git(repo, "switch", "--quiet", "main")
    write(repo / "other" / "notes.txt", "ours\n")
    commit_all(repo, "ours")
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    merge = subprocess.run(
        ["git", *identity, "merge", "theirs"], cwd=repo, capture_output=True, check=False
    )
    assert merge.returncode != 0  # a conflict in a file the fix does not touch
    with WorkCopy.create(repo / "proj") as copy:
        copy.write("pkg/mod.py", FIXED)
        patch = copy.diff()
    before = repo_state(repo)
    with pytest.raises(WorkspaceError, match="cannot switch"):
        apply_to_user(repo / "proj", patch)
    assert repo_state(repo) == before


ESCAPES = {
    "../escape.txt": "diff --git a/../escape.txt b/../escape.txt\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+escaped\n",
    "link/escape.txt": "diff --git a/link/escape.txt b/link/escape.txt\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/link/escape.txt\n@@ -0,0 +1 @@\n+escaped\n",
}


@pytest.mark.parametrize("target", sorted(ESCAPES))
@pytest.mark.parametrize("in_git", [True, False])
def test_apply_refuses_a_patch_that_writes_outside_the_project(
    repo: Path, tmp_path: Path, target: str, in_git: bool
) -> None:
    if in_git:
        project = repo / "proj"
    else:
        project = tmp_path / "plain" / "proj"
        write(project / "pkg" / "mod.py", BUGGY)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    before = tree_state(tmp_path)
    with pytest.raises(PatchError):
        apply_to_user(project, ESCAPES[target], commit=False)
    assert tree_state(tmp_path) == before
    assert not (project.parent / "escape.txt").exists()
    assert not (outside / "escape.txt").exists()
