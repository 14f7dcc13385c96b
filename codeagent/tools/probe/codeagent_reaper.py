"""Reaper: run a module as ``python -m`` would, then kill everything the run left behind.

Started by codeagent's runner as ``python .../probe/codeagent_reaper.py -m pytest ARGS`` (so this
folder is first on ``sys.path`` and the project's folders are not on it at start: nothing in the
project can shadow this harness, pytest or the probe), in a session of its own; the fork server
uses its functions for each run. Stdlib only, Python 3.9+.

The project's folders come in ``CODEAGENT_PYTHONPATH``, not ``PYTHONPATH`` (which Python would
put on ``sys.path`` before anything is imported, and a ``sitecustomize.py`` there would run at
start): ``enter_project`` puts them on ``sys.path`` right after this folder, once the module to
run has been imported, and on ``PYTHONPATH`` for the processes the tests start.

A run's process group is not enough to find what it started: a test may put a process in a
session of its own (``start_new_session=True``) or daemonise it (fork, setsid, fork), and
that process then leaves the group, and its parent exits. On Linux this process becomes a
*child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): an orphan among its descendants is
re-parented here instead of to init, so once the run is over every child left here is
something the run left behind, and is killed. What escapes even that: a process that a
descendant handed to another parent on purpose (a request to a service manager, ``systemd-run``,
``at``, a container runtime) is not ours to see. Without a subreaper (other systems) only the
run's process group is killed.

The run is forked into a process group of its own and runs the module. When it exits, or when
this process gets SIGTERM (the caller's timeout), the run's group is killed, then every process
re-parented here, until none is left. This process ends as the run did: its exit status, or
killed by the same signal (SIGKILL after a SIGTERM).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
RUN_PATH_ENV = "CODEAGENT_PYTHONPATH"
SWEEP_SECONDS = 5.0
"""How long a sweep keeps killing newly re-parented processes (a fork bomb outruns anything)."""


def enter_project() -> None:
    """Put the folders named in ``CODEAGENT_PYTHONPATH`` on ``sys.path`` after this folder's
    entry, and on ``PYTHONPATH`` for child processes. Call it after importing the harness."""
    value = os.environ.pop(RUN_PATH_ENV, None)
    if value is None:
        return
    here = os.path.dirname(os.path.realpath(__file__))
    at = next(
        (i + 1 for i, p in enumerate(sys.path) if p and os.path.realpath(p) == here),
        0,
    )
    sys.path[at:at] = [p for p in value.split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = value


def become_subreaper() -> bool:
    """Make orphaned descendants come to this process (Linux); whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # noqa: PLC0415 - only where it can work

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (ImportError, OSError, AttributeError):  # a Python built without ctypes, no prctl
        return False


def children() -> list[int]:
    """The pids of this process's children now (Linux ``/proc``; empty elsewhere)."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", encoding="ascii") as listed:
            return [int(pid) for pid in listed.read().split()]
    except OSError:
        pass
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def reap_orphans(seconds: float = SWEEP_SECONDS) -> int:
    """Kill and reap every child of this process, again as long as killing one hands its own
    children over (for at most ``seconds``). Call it only when no child is wanted any more.
    Returns how many were killed."""
    killed = 0
    unseen = 0  # rounds with children alive that no listing shows (no /proc): give up soon
    until = time.monotonic() + seconds
    while True:
        pids = children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return killed  # no child left, dead or alive
        unseen = 0 if pids else unseen + 1
        if unseen > 50 or time.monotonic() > until:
            return killed
        time.sleep(0.002)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "-m":
        sys.stderr.write("usage: python codeagent_reaper.py -m MODULE [ARGS...]\n")
        return 2
    module, args = argv[1], argv[2:]
    become_subreaper()
    run = 0

    def stop(signum: int, frame: object) -> None:
        # The caller's timeout: kill the run; the wait below then returns.
        if run > 0:
            kill_group(run)

    # SIGTERM waits until the run has its pid and its group: no window where it is lost.
    signal.signal(signal.SIGTERM, stop)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    run = os.fork()
    if run == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        sys.argv = [module, *args]
        # The module's package first, from where the harness stands; then the project.
        importlib.import_module(module.split(".")[0])
        enter_project()
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0  # the module returned without sys.exit
    with contextlib.suppress(OSError):
        os.setpgid(run, run)  # as the child does: whichever runs first
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    _, status = os.waitpid(run, 0)
    code = os.waitstatus_to_exitcode(status)
    kill_group(run)
    reap_orphans()
    sys.stdout.flush()
    sys.stderr.flush()
    if code < 0:  # end as the run did: killed by its signal
        with contextlib.suppress(OSError, ValueError):
            signal.signal(-code, signal.SIG_DFL)  # SIGKILL has no handler to reset
        with contextlib.suppress(ImportError, OSError, ValueError):
            import resource  # noqa: PLC0415 - POSIX only, as fork is

            # The run dumped its core (if it was to): no second one of this process.
            resource.setrlimit(
                resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1])
            )
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
