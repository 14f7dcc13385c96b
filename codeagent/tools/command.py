"""Run a command with a deadline, in its own process group, its output read as it comes and kept
bounded.

POSIX only (process groups, ``select`` on pipes). The whole group is killed when the command
times out and again after it exits, so a test that leaves a background process behind does
not outlive its run. A command that cleans up after itself (``probe/codeagent_reaper.py``,
which also finds what left the group) is asked first, with SIGTERM, when given a
``stop_grace``. Output is stdout and stderr together: the first and last halves of
``max_output`` bytes are kept and the cut is said in the text, so a test printing 100 MB
neither blocks on a full pipe nor fills memory.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import TestRunError

MAX_OUTPUT = 1 << 20
READ_CHUNK = 1 << 16
DRAIN_GRACE = 2.0
"""Seconds to keep reading after the process exited and its group was killed: enough for the
pipe to empty, bounded for a process that left the group and still holds it open."""
POLL_INTERVAL = 0.05
"""How often to look for the process's exit where no pidfd can say it."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    exit_code: int
    """The exit status; ``-N`` when killed by signal ``N`` (``-9`` after a timeout)."""
    output: str
    """stdout and stderr as one text, UTF-8 with replacement, bounded (see ``truncated``)."""
    duration: float
    timed_out: bool
    truncated: int = 0
    """How many bytes of output were cut from the middle; 0 when none."""


class Capture:
    """The head and tail of a byte stream: at most ``limit`` bytes kept, however much is fed."""

    def __init__(self, limit: int = MAX_OUTPUT) -> None:
        self._head_limit = max(limit // 2, 1)
        self._tail_limit = max(limit - self._head_limit, 1)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            # Trim only when twice the limit, so trimming stays amortised O(1) per byte.
            if len(self._tail) > 2 * self._tail_limit:
                del self._tail[: -self._tail_limit]

    @property
    def cut(self) -> int:
        return self.total - len(self._head) - min(len(self._tail), self._tail_limit)

    def text(self) -> str:
        tail = bytes(self._tail[-self._tail_limit :])
        if not self.cut:
            return (bytes(self._head) + tail).decode("utf-8", "replace")
        # The tail may start inside a multi-byte character: skip its continuation bytes.
        start = 0
        while start < min(len(tail), 3) and 0x80 <= tail[start] < 0xC0:
            start += 1
        head = self._head.decode("utf-8", "replace")
        marker = f"\n[... {self.cut} bytes of output cut ...]\n"
        return head + marker + tail[start:].decode("utf-8", "replace")


def kill_group(pgid: int) -> None:
    """SIGKILL every process of group ``pgid``; nothing when the group is gone.

    Safe after the leader was reaped: Linux does not hand out a pid that is still some
    group's id, so the number cannot name another program's group while ours has members.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_output: int = MAX_OUTPUT,
    stop_grace: float = 0.0,
    started: Callable[[int], None] | None = None,
) -> CommandResult:
    """Run ``argv`` until it exits or ``timeout`` seconds pass, then kill its process group.
    With ``stop_grace``, the timeout first sends SIGTERM to the command alone, and its group is
    killed when it exits or ``stop_grace`` seconds later. ``started`` hears the command's pid
    (its process group) as soon as it runs, for a caller that may have to kill it early.

    Raises ``TestRunError`` when the program cannot start at all (missing, not executable).
    """
    began = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise TestRunError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    if started is not None:
        started(process.pid)
    capture = Capture(max_output)
    try:
        timed_out = _pump(process, capture, began + timeout, stop_grace)
    finally:
        kill_group(process.pid)
        process.wait()
    assert process.stdout is not None
    process.stdout.close()
    return CommandResult(
        exit_code=process.returncode,
        output=capture.text(),
        duration=time.monotonic() - began,
        timed_out=timed_out,
        truncated=capture.cut,
    )


def _pump(
    process: subprocess.Popen[bytes], capture: Capture, deadline: float, stop_grace: float
) -> bool:
    """Read ``process``'s output until it ends or the deadline passes; whether it timed out.

    When the process exits (or times out, and did not stop within ``stop_grace`` of SIGTERM)
    its group is killed at once, then the pipe is read to its end for at most ``DRAIN_GRACE``
    seconds: a test's background child that inherited the pipe dies with the group, one that
    left the group cannot hold the run open.
    """
    assert process.stdout is not None
    out_fd = process.stdout.fileno()
    os.set_blocking(out_fd, False)
    exit_fd = _pidfd(process.pid)
    timed_out = False
    drain_until: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        if exit_fd is not None:
            selector.register(exit_fd, selectors.EVENT_READ)
        try:
            while out_fd in selector.get_map():
                now = time.monotonic()
                if stop_grace > 0 and not timed_out and now >= deadline and process.poll() is None:
                    timed_out = True
                    _terminate(process.pid)
                    deadline = now + stop_grace
                if drain_until is None and (process.poll() is not None or now >= deadline):
                    timed_out = timed_out or process.returncode is None
                    kill_group(process.pid)
                    drain_until = now + DRAIN_GRACE
                if drain_until is not None and now >= drain_until:
                    break
                wait = (deadline if drain_until is None else drain_until) - now
                if drain_until is None and exit_fd is None:
                    wait = min(wait, POLL_INTERVAL)
                for key, _ in selector.select(wait):
                    if key.fd == exit_fd:
                        selector.unregister(key.fd)  # the next poll() sees the exit
                    elif not read_into(out_fd, capture):
                        selector.unregister(out_fd)
        finally:
            if exit_fd is not None:
                os.close(exit_fd)
    if drain_until is None:
        # The output closed while the process runs on: wait for its exit, up to the deadline.
        try:
            process.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            if stop_grace > 0 and not timed_out:
                _terminate(process.pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(stop_grace)
            timed_out = True
    return timed_out


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def read_into(fd: int, capture: Capture) -> bool:
    """Move what ``fd`` holds into ``capture``; false at the end of the output."""
    try:
        data = os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    capture.feed(data)
    return bool(data)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux 5.3+), else None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd
