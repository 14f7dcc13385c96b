"""RepoIndex on small real repositories: ranking, budget, cache, broken inputs, git, stability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeagent.index.files import MAX_BYTES
from codeagent.index.rank import rank
from codeagent.index.repo_index import RepoIndex
from codeagent.index.store import IndexStore

PROJECT = {
    "shop/cart.py": (
        "from shop.pricing import apply_discount, tax_for\n\n"
        "class Cart:\n"
        "    def total(self, items):\n"
        "        return apply_discount(sum(items)) + tax_for(items)\n"
    ),
    "shop/pricing.py": (
        "def apply_discount(amount):\n    return round_money(amount * 0.9)\n\n"
        "def tax_for(items):\n    return round_money(len(items) * 0.2)\n\n"
        "def round_money(x):\n    return round(x, 2)\n"
    ),
    "shop/report.py": (
        "from shop.format import render_table\n\n"
        "def monthly_report(rows):\n    return render_table(rows)\n"
    ),
    "shop/format.py": "def render_table(rows):\n    return str(rows)\n\ndef render_row(row):\n"
    "    return render_table([row])\n",
    "tests/test_cart.py": (
        "from shop.cart import Cart\n\ndef test_total():\n    assert Cart().total([1]) == 1.1\n"
    ),
}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def settle(root: Path) -> None:
    """Wait until the filesystem's clock has moved past every file under ``root``, so an index
    saved from now on finds none of them racily clean (on a coarse clock: one tick)."""
    newest = max(p.lstat().st_ctime_ns for p in root.rglob("*"))
    probe = root.parent / "clock-probe"
    while True:
        probe.write_bytes(b"x")
        if probe.stat().st_mtime_ns > newest:
            return
        time.sleep(0.001)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    write(root, dict(PROJECT))
    settle(root)  # else the counts of files hashed again depend on the clock's granularity
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def first_files(index: RepoIndex, focus: list[str]) -> list[str]:
    seen: list[str] = []
    for chosen in index.repo_map(budget=4000, focus=focus).chosen:
        if chosen.path not in seen:
            seen.append(chosen.path)
    return seen


def test_focus_puts_the_traceback_neighbourhood_first(repo: Path) -> None:
    index = RepoIndex.open(repo)
    # A traceback through cart.py: what cart.py calls (pricing) comes before the unrelated
    # reporting code, and the other way round for a traceback through report.py.
    cart_first = first_files(index, ["shop/cart.py"])
    report_first = first_files(index, ["shop/report.py"])
    assert cart_first.index("shop/pricing.py") < cart_first.index("shop/format.py")
    assert report_first.index("shop/format.py") < report_first.index("shop/pricing.py")
    symbol_first = first_files(index, ["render_table"])
    assert symbol_first[0] == "shop/format.py"
    focused = index.repo_map(focus=[str(repo / "shop" / "cart.py"), "pricing.py:tax_for"])
    assert focused.focus_files == ("shop/cart.py", "shop/pricing.py")
    assert focused.focus_symbols == ("pricing.py:tax_for",)


def test_budget_is_respected_and_bigger_budgets_show_more(repo: Path) -> None:
    index = RepoIndex.open(repo)
    sizes = []
    for budget in (10, 30, 60, 4000):
        repo_map = index.repo_map(budget=budget)
        assert repo_map.tokens <= budget
        sizes.append(len(repo_map.chosen))
    assert sizes == sorted(sizes)
    assert sizes[0] < sizes[-1]
    assert index.repo_map(budget=1).text == ""
    text = index.repo_map(budget=4000).text
    assert "def apply_discount(amount):" in text
    assert "return round" not in text  # signatures, not bodies


def test_unreferenced_definitions_come_after_the_ranked_ones(repo: Path) -> None:
    chosen = RepoIndex.open(repo).repo_map(budget=4000).chosen
    names = [c.definition.name for c in chosen]
    assert "test_total" in names  # nobody references these two
    assert "monthly_report" in names
    first_unranked = next(i for i, c in enumerate(chosen) if c.score == 0.0)
    assert all(c.score > 0.0 for c in chosen[:first_unranked])
    assert all(c.score == 0.0 for c in chosen[first_unranked:])


def test_custom_token_counter(repo: Path) -> None:
    index = RepoIndex.open(repo)
    by_lines = index.repo_map(budget=6, count_tokens=lambda text: text.count("\n"))
    assert by_lines.text.count("\n") <= 6
    assert by_lines.chosen


def test_cache_hit_when_nothing_changed(repo: Path) -> None:
    cold = RepoIndex.open(repo)
    assert cold.stats.parsed == len(PROJECT)
    state_file = Path(cold.store.directory) / "state.marshal"
    written = state_file.stat().st_mtime_ns
    warm = RepoIndex.open(repo)
    assert (warm.stats.parsed, warm.stats.rehashed, warm.stats.removed) == (0, 0, 0)
    assert state_file.stat().st_mtime_ns == written  # nothing rewritten
    assert warm.repo_map().text == cold.repo_map().text


def test_only_the_changed_file_is_read_again(repo: Path) -> None:
    RepoIndex.open(repo)
    (repo / "shop" / "format.py").write_text(
        "def render_table(rows):\n    return str(rows)\n\ndef render_csv(rows):\n"
        "    return render_table(rows)\n"
    )
    index = RepoIndex.open(repo)
    assert (index.stats.parsed, index.stats.rehashed) == (1, 1)
    assert [loc.path for loc in index.lookup("render_csv")] == ["shop/format.py"]
    assert index.lookup("render_row") == []
    # Same content again (an undo): rehashed, but its tags are in the store, so no parse.
    (repo / "shop" / "format.py").write_text(PROJECT["shop/format.py"])
    undone = RepoIndex.open(repo)
    assert (undone.stats.parsed, undone.stats.rehashed) == (0, 1)
    assert undone.lookup("render_row")


def test_removed_and_renamed_files(repo: Path) -> None:
    RepoIndex.open(repo)
    (repo / "shop" / "report.py").unlink()
    (repo / "shop" / "format.py").rename(repo / "shop" / "fmt.py")
    index = RepoIndex.open(repo)
    assert index.stats.removed == 2
    assert index.stats.parsed == 0  # the renamed file's content is known by its blob id
    assert "shop/report.py" not in index.paths
    assert [loc.path for loc in index.lookup("render_table")] == ["shop/fmt.py"]
    assert "shop/report.py" not in index.repo_map(budget=4000).text


def test_broken_inputs_are_skipped_with_a_reason(repo: Path) -> None:
    write(
        repo,
        {
            "bin/blob.py": b"\x00\x01\x02 binary with a code extension",
            "big/huge.py": b"x = 1\n" * (MAX_BYTES // 6 + 10),
            "odd/latin.py": "def caf\xe9():\n    return 1\n".encode("latin-1"),
            "odd/broken.py": "def ok():\n    pass\ndef broken(:\n",
            "notes.txt": "not code",
            "data.json": "{}",
        },
    )
    os.symlink(repo / "shop" / "cart.py", repo / "odd" / "link.py")
    os.symlink(repo, repo / "odd" / "loop")  # a directory link back up: never followed
    index = RepoIndex.open(repo)
    reasons = {s.path: s.reason for s in index.skipped}
    assert reasons["bin/blob.py"] == "binary"
    assert reasons["big/huge.py"].startswith("too large")
    assert reasons["odd/link.py"] == "symbolic link"
    assert not any(p.startswith("odd/loop") for p in index.paths)
    assert "notes.txt" not in index.paths
    assert "data.json" not in index.paths
    assert index.lookup("ok")  # the readable part of a file with syntax errors
    assert index.tags("odd/broken.py").has_errors
    (latin,) = index.tags("odd/latin.py").definitions  # indexed; the grammar ends the name
    assert latin.name.startswith("caf")  # at the byte that is not UTF-8


def test_gitignore_in_a_plain_directory(repo: Path) -> None:
    write(
        repo,
        {
            ".gitignore": "build/\n*_gen.py\n!keep_gen.py\n",
            "build/out.py": "def x(): pass\n",
            "shop/auto_gen.py": "def y(): pass\n",
            "shop/keep_gen.py": "def z(): pass\n",
        },
    )
    paths = RepoIndex.open(repo).paths
    assert "build/out.py" not in paths
    assert "shop/auto_gen.py" not in paths
    assert "shop/keep_gen.py" in paths


def test_git_repository_uses_git_and_keeps_its_cache_in_dot_git(repo: Path) -> None:
    git(repo, "init", "-q")
    write(repo, {".gitignore": "ignored.py\n", "ignored.py": "def hidden(): pass\n"})
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    write(repo, {"untracked.py": "def fresh(): pass\n"})
    index = RepoIndex.open(repo)
    assert Path(index.store.directory).is_relative_to(repo / ".git")
    assert "ignored.py" not in index.paths
    assert "untracked.py" in index.paths
    assert index.lookup("fresh")
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "codeagent").exists()


def test_lookup_source_and_callers(repo: Path) -> None:
    index = RepoIndex.open(repo)
    (loc,) = index.lookup("Cart.total")
    assert (loc.path, loc.line, loc.container) == ("shop/cart.py", 4, "Cart")
    assert index.lookup("Nope.total") == []
    ((where, source),) = index.source_of("pricing.py:round_money")
    assert source == "def round_money(x):\n    return round(x, 2)\n"
    assert where.kind == "function"
    callers = {(c.path, c.caller.name if c.caller else None) for c in index.callers("round_money")}
    assert callers == {("shop/pricing.py", "apply_discount"), ("shop/pricing.py", "tax_for")}
    assert index.callers("does_not_exist") == []


def test_same_input_same_bytes_whatever_the_history(repo: Path, tmp_path: Path) -> None:
    # History A: cold index of the final state.
    first = RepoIndex.open(repo).repo_map(budget=200, focus=["shop/cart.py"]).text
    # History B: a different store that saw other contents first, then the same final state.
    other = IndexStore(str(tmp_path / "other-store"))
    (repo / "shop" / "extra.py").write_text("def apply_discount(a):\n    return a\n")
    RepoIndex.open(repo, store=other)
    (repo / "shop" / "extra.py").unlink()
    second = RepoIndex.open(repo, store=other).repo_map(budget=200, focus=["shop/cart.py"])
    assert second.text == first


def test_native_and_python_ranking_agree_to_the_bit(repo: Path) -> None:
    index = RepoIndex.open(repo)
    native = rank(index.state, focus_files=[0], focus_idents=[1])
    python = rank(index.state, focus_files=[0], focus_idents=[1], native=False)
    assert not python.native
    assert list(native.file_rank) == list(python.file_rank)
    assert list(native.ident_score) == list(python.ident_score)
    assert list(native.order) == list(python.order)
    assert abs(sum(native.file_rank) - 1.0) < 1e-9


def test_parallel_cold_index_matches_serial(repo: Path, tmp_path: Path) -> None:
    for i in range(40):  # enough content to use the worker pool
        write(repo, {f"gen/m{i}.py": f"def f{i}(x):\n    return f{(i + 1) % 40}(x)\n" * 3000})
    serial = RepoIndex.open(repo, store=IndexStore(str(tmp_path / "s1")), workers=1)
    parallel = RepoIndex.open(repo, store=IndexStore(str(tmp_path / "s2")), workers=2)
    assert parallel.stats.workers == 2
    assert serial.repo_map(budget=500).text == parallel.repo_map(budget=500).text


def test_cli_index_json(repo: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "codeagent", "index", str(repo), "--json", "--budget", "300",
         "--focus", "shop/report.py"],
        capture_output=True, text=True, check=True, env=os.environ,
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert data["files"] == len(PROJECT)
    assert data["tokens"] <= 300
    assert data["focus"]["files"] == ["shop/report.py"]
    assert data["definitions"][0]["path"] in {"shop/report.py", "shop/format.py"}
    text = subprocess.run(
        [sys.executable, "-m", "codeagent", "index", str(repo), "--lookup", "Cart"],
        capture_output=True, text=True, check=True, env=os.environ,
    ).stdout  # fmt: skip
    assert text.startswith("shop/cart.py:3: class class Cart:")
    missing = subprocess.run(
        [sys.executable, "-m", "codeagent", "index", str(repo / "nope")],
        capture_output=True, text=True, check=False, env=os.environ,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "is not a directory" in missing.stderr
