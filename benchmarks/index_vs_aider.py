"""codeagent's repo map against Aider's on sympy's full source, side by side, whole processes.

    .venv/bin/python benchmarks/index_vs_aider.py [--runs 5] [--budget 1024]
        [--sympy DIR] [--aider-python PATH]

Without --sympy it downloads sympy's sdist (``pip download --no-deps --no-binary :all:``);
without --aider-python it makes a scratch venv with ``aider-chat`` under
``~/.cache/codeagent/bench`` (a few minutes, once). Both tools index a private copy of the tree,
each run is a fresh process timed from start to exit, and every cache starts empty for the cold
run. "Edit" appends a new function that calls an existing one to ``sympy/core/basic.py`` (new
content, so it must be parsed and the graph changes); "body edit" changes a literal inside a
function body. Times are medians of --runs runs (cold: one run each). Run it on an otherwise
idle machine: both tools compete for the same cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AIDER_SCRIPT = HERE / "aider_repomap.py"
EDITED = "sympy/core/basic.py"


def sh(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload,no-any-return]


def fetch_sympy(into: Path) -> Path:
    sh([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
        "sympy==1.14.0", "-d", str(into)])  # fmt: skip
    archive = next(into.glob("sympy-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return next(p for p in into.iterdir() if p.is_dir() and p.name.startswith("sympy-"))


def aider_python(cache: Path) -> Path:
    venv = cache / "aider-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making a scratch venv with aider-chat in {venv} ...", file=sys.stderr)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(python), "-m", "pip", "install", "-q", "aider-chat"])
    return python


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


class Editor:
    """Makes each edit new content, so no cache can have seen it."""

    def __init__(self, root: Path) -> None:
        self.path = root / EDITED
        self.original = self.path.read_text()
        self.count = 0

    def add_function(self) -> None:
        self.count += 1
        extra = f"\n\ndef _bench_edit_{self.count}_{os.getpid()}(x):\n    return sympify(x)\n"
        self.path.write_text(self.original + extra)

    def change_body(self) -> None:
        self.count += 1
        marker = "def __sympy__(self):"
        assert marker in self.original
        edited = self.original.replace(
            marker, f"{marker}\n        _bench = {self.count}{os.getpid()}", 1
        )
        self.path.write_text(edited)

    def restore(self) -> None:
        self.path.write_text(self.original)


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1024)
    parser.add_argument("--sympy", type=Path, help="an unpacked sympy source tree")
    parser.add_argument("--aider-python", type=Path, help="a Python with aider-chat installed")
    parser.add_argument("--skip-aider", action="store_true", help="measure codeagent only")
    args = parser.parse_args()

    bench_cache = Path.home() / ".cache" / "codeagent" / "bench"
    work = Path(tempfile.mkdtemp(prefix="index-bench-"))
    source = args.sympy or fetch_sympy(work / "download")
    root = work / "sympy"
    shutil.copytree(source, root, symlinks=True)
    codeagent = Path(sys.executable).parent / "codeagent"
    # A normal install has compiled bytecode; a tree installed in development mode under
    # PYTHONDONTWRITEBYTECODE would recompile codeagent in every process. Compile it once.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    sh([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "codeagent")], env=env)
    env["XDG_CACHE_HOME"] = str(work / "cache")
    ours = [str(codeagent), "index", str(root), "--budget", str(args.budget)]
    files = sum(1 for _ in root.rglob("*.py"))
    load = os.getloadavg()[0]
    print(f"sympy tree: {files} Python files, {sum(p.stat().st_size for p in root.rglob('*.py')):,}"
          f" bytes; machine: {os.cpu_count()} cores, load average {load:.2f} before start")  # fmt: skip

    editor = Editor(root)
    results: dict[str, dict[str, float]] = {"codeagent": {}}
    r = results["codeagent"]
    r["cold"] = timed(ours, env)
    r["warm"] = median([timed(ours, env) for _ in range(args.runs)])
    edits, body_edits = [], []
    for _ in range(args.runs):
        editor.add_function()
        edits.append(timed(ours, env))
        editor.change_body()
        body_edits.append(timed(ours, env))
    editor.restore()
    timed(ours, env)
    r["edit"], r["body edit"] = median(edits), median(body_edits)

    if not args.skip_aider:
        python = args.aider_python or aider_python(bench_cache)
        aider = [str(python), str(AIDER_SCRIPT), str(root), str(args.budget)]
        a = results["Aider"] = {}
        for cache in root.glob(".aider.tags.cache.v*"):
            shutil.rmtree(cache)
        a["cold"] = timed(aider, env)
        runs = max(1, min(args.runs, 3))  # ~15 s a run
        a["warm"] = median([timed(aider, env) for _ in range(runs)])
        aider_edits = []
        for _ in range(runs):
            editor.add_function()
            aider_edits.append(timed(aider, env))
        editor.restore()
        a["edit"] = median(aider_edits)

    print()
    print("| run | codeagent | Aider | codeagent / Aider | target |")
    print("|---|---:|---:|---:|---|")
    targets = {"cold": "<= 0.4x Aider", "warm": "<= 0.1x Aider", "edit": "<= 0.2 s",
               "body edit": "<= 0.2 s"}  # fmt: skip
    names = {"cold": "cold (empty caches)", "warm": "warm (nothing changed)",
             "edit": "after editing one file (new function)",
             "body edit": "after editing one file (function body)"}  # fmt: skip
    for key in ("cold", "warm", "edit", "body edit"):
        ours_t = results["codeagent"][key]
        theirs = results.get("Aider", {}).get(key)
        ratio = f"{ours_t / theirs:.3f}x" if theirs else "-"
        shown = f"{theirs:.2f} s" if theirs else "-"
        print(f"| {names[key]} | {ours_t:.2f} s | {shown} | {ratio} | {targets[key]} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
