"""The parent side of the fork server: one warm interpreter that forks a pytest run per request.

The child side is ``probe/codeagent_forkserver.py`` (its docstring has the protocol). A run's
output comes back through a FIFO read as it is written, bounded like ``run_command``'s. The
server kills a run at its timeout (inside a sandbox only it can name the run's processes); a
server that does not, dies, hangs or answers nonsense raises ``ServerFailed`` and is killed
whole (with a sandbox, everything in it dies with it), so the caller can replace it or do
without.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codeagent.errors import TestRunError
from codeagent.tools.command import (
    DRAIN_GRACE,
    MAX_OUTPUT,
    READ_CHUNK,
    Capture,
    CommandResult,
    kill_group,
    read_into,
)
from codeagent.tools.harness import harness_script

STARTUP_TIMEOUT = 60.0
ANSWER_GRACE = 10.0
"""How long the server may take to answer once its run was killed, or to stop."""


class ServerFailed(TestRunError):
    """The fork server died, hung or broke the protocol; a fresh process may still work."""


def fork_supported() -> bool:
    return hasattr(os, "fork") and hasattr(os, "mkfifo") and hasattr(os, "killpg")


class ForkServer:
    """A running fork server for one project root (not thread-safe: one run at a time).

    Raises ``TestRunError`` when the interpreter has no pytest, ``ServerFailed`` when the
    server does not come up.
    """

    def __init__(
        self,
        python: str,
        root: Path,
        env: Mapping[str, str],
        workdir: Path,
        *,
        cold: bool = False,
        startup_timeout: float = STARTUP_TIMEOUT,
        wrap: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        """``wrap``: the sandbox's (the server and all its runs then live inside it, and the
        pids it names are not ours to kill)."""
        self._root = root
        self._sandboxed = wrap is not None
        self._current: int | None = None
        self._workdir = workdir
        self._requests = 0
        self._buffer = b""
        self._pending: deque[dict[str, Any]] = deque()
        self._log_path = workdir / f"forkserver-{time.monotonic_ns()}.log"
        with self._log_path.open("wb") as log:
            try:
                argv = [python, harness_script("forkserver"), *(["--cold"] if cold else [])]
                self._process = subprocess.Popen(
                    wrap(argv) if wrap is not None else argv,
                    cwd=root,
                    env=dict(env),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
            except OSError as exc:
                raise TestRunError(f"cannot run {python}: {exc.strerror or exc}") from exc
        assert self._process.stdout is not None
        self._out_fd = self._process.stdout.fileno()
        os.set_blocking(self._out_fd, False)
        try:
            hello = self._answer(time.monotonic() + startup_timeout)
        except ServerFailed:
            self.close()
            raise
        if "error" in hello:
            self.close()
            raise TestRunError(f"pytest is not importable by {python} ({hello['error']})")
        self.hello = hello
        """The server's first answer: versions, and what importing the plugins did."""

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        timeout: float,
        max_output: int = MAX_OUTPUT,
    ) -> CommandResult:
        """``pytest.main(args)`` in a forked child with ``env`` added; its output bounded.

        The plugins this server imported are not assertion-rewritten, and pytest would warn
        so in every run (an error under ``-W error``): a last ``-W`` filter silences that.
        """
        args = [*args, "-W", "ignore::pytest.PytestAssertRewriteWarning"]
        self._requests += 1
        ident = self._requests
        output = _Fifo(self._workdir / f"output-{ident}.fifo")
        capture = Capture(max_output)
        started = time.monotonic()
        try:
            self._send(
                {
                    "op": "run",
                    "id": ident,
                    "args": list(args),
                    "env": dict(env),
                    "output": str(output.path),
                    "cwd": str(self._root),
                    "timeout": timeout,
                }
            )
            exit_code, timed_out = self._await_exit(ident, output.fd, capture, started + timeout)
            output.release()
            _drain(output.fd, capture, time.monotonic() + DRAIN_GRACE)
        finally:
            output.close()
        return CommandResult(
            exit_code=exit_code,
            output=capture.text(),
            duration=time.monotonic() - started,
            timed_out=timed_out,
            truncated=capture.cut,
        )

    def preload(self, modules: Path, *, timeout: float = STARTUP_TIMEOUT) -> dict[str, Any]:
        """Have the server import the third-party modules listed in ``modules``; its answer
        (see the child's docstring)."""
        self._requests += 1
        self._send({"op": "preload", "id": self._requests, "path": str(modules)})
        return self._answer(time.monotonic() + timeout)

    def close(self) -> None:
        """Stop the server (and anything it left): idempotent."""
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.close()
                self._process.wait(ANSWER_GRACE / 5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        kill_group(self._process.pid)
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log_path.unlink(missing_ok=True)

    # -- protocol ------------------------------------------------------------------------

    def _await_exit(
        self, ident: int, read_fd: int, capture: Capture, deadline: float
    ) -> tuple[int, bool]:
        """Pump the run's output until the server says the child exited (it kills the child
        at ``deadline``). Returns the exit code and whether it timed out; ``ServerFailed``
        when the server has not answered ``ANSWER_GRACE`` seconds past the deadline."""
        limit = deadline + ANSWER_GRACE
        self._current = None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(read_fd, selectors.EVENT_READ)
                selector.register(self._out_fd, selectors.EVENT_READ)
                while True:
                    now = time.monotonic()
                    if now >= limit:
                        self.kill()
                        raise ServerFailed("the fork server did not end its run at the timeout")
                    for key, _ in selector.select(limit - now):
                        if key.fd == read_fd:
                            read_into(read_fd, capture)
                        else:
                            self._receive()
                    while self._pending:
                        answer = self._pending.popleft()
                        if answer.get("id") != ident:
                            continue  # a late answer to a request that failed before
                        if "exit" in answer:
                            return _int(answer["exit"]), answer.get("timed_out") is True
                        self._current = _int(answer.get("pid"))
        finally:
            self._current = None

    def kill(self) -> None:
        """Kill the run in progress, if any, and this server (safe from another thread: the
        run's caller then gets ``ServerFailed``)."""
        if self._current is not None and not self._sandboxed:
            kill_group(self._current)  # a pid of ours only outside a sandbox
        kill_group(self._process.pid)

    def _answer(self, deadline: float) -> dict[str, Any]:
        """The next answer, waiting at most until ``deadline``."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._out_fd, selectors.EVENT_READ)
            while not self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ServerFailed(f"the fork server did not answer{self._log_tail()}")
                if selector.select(remaining):
                    self._receive()
            return self._pending.popleft()

    def _receive(self) -> None:
        """Queue the answers complete in the pipe now (a partial line stays buffered);
        ``ServerFailed`` at its end, after killing the run in progress."""
        try:
            data = os.read(self._out_fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            raise ServerFailed(f"the fork server's answers cannot be read: {exc}") from exc
        if not data:
            self.kill()
            raise ServerFailed(f"the fork server exited{self._log_tail()}")
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            try:
                answer = json.loads(line)
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise ServerFailed(f"the fork server answered {line[:200]!r}")
            self._pending.append(answer)

    def _send(self, request: Mapping[str, Any]) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        except OSError as exc:
            raise ServerFailed(f"the fork server is gone: {exc}") from exc

    def _log_tail(self) -> str:
        try:
            text = self._log_path.read_bytes()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1]}" if text else ""


class _Fifo:
    """The FIFO a run writes its output to, open for reading. We hold a writer too until
    ``release``: without one, reading would see the end before the child opened it."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path, 0o600)
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)

    def release(self) -> None:
        if self._writer >= 0:
            os.close(self._writer)
            self._writer = -1

    def close(self) -> None:
        self.release()
        os.close(self.fd)
        self.path.unlink()


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ServerFailed(f"the fork server answered {value!r} for a number")


def _drain(fd: int, capture: Capture, until: float) -> None:
    """Read ``fd`` to its end, for at most until ``until`` (a process that left the run's
    group may hold the FIFO open)."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (remaining := until - time.monotonic()) > 0:
            if selector.select(remaining) and not read_into(fd, capture):
                return
