"""Fork server: runs pytest in forked children of one warm interpreter.

Started by codeagent's runner as ``python .../probe/codeagent_forkserver.py`` in the project
root, with the test environment: this folder is first on ``sys.path`` and the project's folders
are not on it (they come in ``CODEAGENT_PYTHONPATH``: see ``codeagent_reaper.enter_project``),
so nothing in the project can shadow pytest, its plugins or this harness, which are all
imported before a run's child puts the project on ``sys.path``. Stdlib and pytest only,
Python 3.9+.

It imports pytest and its plugins once; each run forks a child that imports the project's
modules fresh, so a rewritten file is always seen. The project's own modules are never
imported here. Requests and answers are JSON lines on stdin and stdout:

``{"op": "run", "id", "args", "env", "output", "cwd", "timeout"}``
    Fork a child in its own session that moves to ``cwd``, sets ``env`` (a null value
    removes a variable), sends stdout and stderr to the file or FIFO ``output`` and runs
    ``pytest.main(args)``; past ``timeout`` seconds (if given) its group is killed here.
    Answers ``{"id", "pid"}`` at once (``pid`` is this server's view of it: inside a sandbox's
    process namespace, not the caller's), then ``{"id", "exit", "duration", "timed_out"}``
    when the child ended and its group was killed, and every process the run left that was
    re-parented here (this server is a child subreaper where Linux allows: see
    ``codeagent_reaper``). The caller's own guard is to kill this whole server.
``{"op": "preload", "id", "path"}``
    Import the modules named in the JSON list at ``path`` that live in the standard library
    or site-packages (what a run imported, e.g. numpy), so later children start warm.
    Answers ``{"id", "loaded", "failed", "tainted", "threads"}``: ``tainted`` lists project
    modules that came along (this server must then be replaced), ``threads`` the threads now
    alive (forking with more than one is unsafe).
``{"op": "exit"}`` or end of input
    Stop.

At start it imports pytest's plugins (with ``--cold``, only pytest's own) and answers
``{"ready": true, "python", "pytest", "subreaper", "loaded", "failed", "tainted", "threads"}``,
or ``{"error"}`` when pytest cannot be imported.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import os
import select
import signal
import sys
import sysconfig
import threading
import time
import traceback
from typing import IO, Any, NoReturn


def main() -> int:
    # A candidate fix rewrites a file in the same second at the same size: a .pyc written
    # now could be taken for it later.
    sys.dont_write_bytecode = True
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # Anything printed while importing goes nowhere, never into the protocol.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.close(devnull)
    root = os.getcwd()
    try:
        import pytest  # noqa: PLC0415 - its absence is an answer, not a crash

        warmed = _warm(root, plugins="--cold" not in sys.argv)
    except BaseException as exc:
        _send(answers, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    hello = {
        "ready": True,
        "python": sys.version.split()[0],
        "pytest": pytest.__version__,
        "subreaper": _reaper().become_subreaper(),
    }
    _send(answers, {**hello, **warmed})
    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        op = request.get("op")
        if op == "run":
            _run(request, answers)
        elif op == "preload":
            with open(request["path"], encoding="utf-8") as names:
                loaded = _preload(json.load(names), root)
            _send(answers, {"id": request.get("id"), **loaded})
        elif op == "exit":
            break
    return 0


def _warm(root: str, *, plugins: bool) -> dict[str, Any]:
    """Import what every pytest run imports: its built-in plugins, this probe, the plugins
    installed for it (entry points ``pytest11``, unless ``plugins`` is false), and the
    distribution metadata scan behind them (cached by directory mtime)."""
    import _pytest.config  # noqa: PLC0415 - after main() made sure pytest is there

    for name in _pytest.config.default_plugins:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"_pytest.{name}")
    importlib.import_module("codeagent_probe")
    found: Any = importlib.metadata.entry_points()
    group = (
        found.select(group="pytest11") if hasattr(found, "select") else found.get("pytest11", [])
    )
    names = [str(entry.value).split(":")[0].strip() for entry in group] if plugins else []
    return _preload(names, root)


def _run(request: dict[str, Any], answers: IO[str]) -> None:
    started = time.monotonic()
    timeout = request.get("timeout")
    deadline = started + float(timeout) if isinstance(timeout, (int, float)) else None
    pid = os.fork()
    if pid == 0:
        _child(request, answers)
    _send(answers, {"id": request.get("id"), "pid": pid})
    status, timed_out = _wait(pid, deadline)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # what the test left running
    _reaper().reap_orphans()  # and what left the group, re-parented here: no child is wanted
    exit_code = os.waitstatus_to_exitcode(status)
    _send(
        answers,
        {
            "id": request.get("id"),
            "exit": exit_code,
            "duration": time.monotonic() - started,
            "timed_out": timed_out,
        },
    )


def _wait(pid: int, deadline: float | None) -> tuple[int, bool]:
    """The child's wait status, killing its group at ``deadline``; and whether it was."""
    if deadline is None:
        return os.waitpid(pid, 0)[1], False
    opener = getattr(os, "pidfd_open", None)
    exit_fd = None
    if opener is not None:
        with contextlib.suppress(OSError):
            exit_fd = opener(pid)
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status, False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                return os.waitpid(pid, 0)[1], True
            if exit_fd is not None:
                select.select([exit_fd], [], [], remaining)
            else:
                time.sleep(min(remaining, 0.005))
    finally:
        if exit_fd is not None:
            os.close(exit_fd)


def _reaper() -> Any:
    """``codeagent_reaper``, beside this file (imported once, then a dict lookup)."""
    return importlib.import_module("codeagent_reaper")


def _child(request: dict[str, Any], answers: IO[str]) -> NoReturn:
    """The forked child: never returns into the server loop."""
    code = 3
    try:
        os.setsid()
        answers.close()
        out = os.open(request["output"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as we do
        for key, value in request.get("env", {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        os.chdir(request.get("cwd") or os.getcwd())
        _reaper().enter_project()
        importlib.invalidate_caches()
        args: list[str] = list(request["args"])
        sys.argv = [sys.executable, "-m", "pytest", *args]
        import pytest  # noqa: PLC0415 - imported by main() already: a dict lookup

        code = int(pytest.main(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 3
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _preload(names: list[str], root: str) -> dict[str, Any]:
    """Import the modules ``names`` that live in the standard library or site-packages and
    are not the project's; then freeze the heap so children share it untouched."""
    project = _project_names(root)
    places = tuple(
        os.path.join(os.path.realpath(p), "")
        for p in {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
        if p
    )
    # Parents first: looking up ``a.b`` imports ``a``, which must pass the checks itself.
    wanted = {".".join(n.split(".")[: i + 1]) for n in names for i in range(n.count(".") + 1)}
    loaded = failed = 0
    for name in sorted(wanted, key=lambda n: (n.count("."), n)):
        if name in sys.modules or name.split(".")[0] in project:
            continue
        spec_file = _module_file(name)
        if spec_file is None or not _third_party(spec_file, places):
            continue
        try:
            importlib.import_module(name)
            loaded += 1
        except BaseException:
            failed += 1
    tainted = sorted(
        name
        for name, module in list(sys.modules.items())
        if _under(getattr(module, "__file__", None), root)
    )
    gc.collect()
    if hasattr(gc, "freeze"):
        # Objects made before the fork are never collected in children: their pages stay
        # shared instead of being touched by each child's collector.
        gc.freeze()
    return {
        "loaded": loaded,
        "failed": failed,
        "tainted": tainted,
        "threads": threading.active_count(),
    }


def _project_names(root: str) -> set[str]:
    """Top-level names the project itself provides (in the root or ``src/``): never
    imported here even if some copy of them lives in site-packages."""
    names = set()
    for folder in (root, os.path.join(root, "src")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            names.add(entry[:-3] if entry.endswith(".py") else entry)
    return names


def _module_file(name: str) -> str | None:
    """Where ``name`` would be imported from; None when unknown. Looking up ``a.b`` imports
    ``a``, so only names whose parent is already here are looked up."""
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except BaseException:
        return None
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) and os.path.isabs(origin) else None


def _third_party(path: str, stdlib: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts or real.startswith(stdlib)


def _under(path: object, root: str) -> bool:
    if not isinstance(path, str):
        return False
    return os.path.realpath(path).startswith(os.path.join(os.path.realpath(root), ""))


def _send(answers: IO[str], message: dict[str, Any]) -> None:
    answers.write(json.dumps(message) + "\n")
    answers.flush()


if __name__ == "__main__":
    sys.exit(main())
