"""Keep codeagent's own process out of reach of the code it runs.

Test runs get a minimal environment of their own (``tools.harness``), but the code under test
could still read codeagent's environment through ``/proc/<pid>/environ`` (or its memory through
``/proc/<pid>/mem``) unless something stops it. The sandbox (``tools.sandbox``) does: a run
cannot even name codeagent's process. Where there is no sandbox, ``guard_process``:

- makes this process non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``, Linux): its ``/proc`` files
  are then root's, unreadable to the user's other processes, tests included (root, with
  ``CAP_SYS_PTRACE``, can still read them: that takes the sandbox);
- removes the variables that look like secrets (``*_KEY``, ``*TOKEN*``, ``*SECRET*``,
  ``*PASSWORD*``, ``*CREDENTIAL*``) from its environment once codeagent has read what it needs
  (the caller keeps a copy), so no child inherits them, and overwrites their values in the
  process's initial environment block, which is what ``/proc/<pid>/environ`` shows (unsetting
  a variable alone leaves its bytes there).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
from collections.abc import Iterable

PR_SET_DUMPABLE = 4
SECRET_NAME = re.compile(r"(_KEY$|^KEY$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def secret_names(environ: Iterable[str]) -> list[str]:
    """The variable names that look like secrets."""
    return sorted(name for name in environ if SECRET_NAME.search(name))


def guard_process() -> list[str]:
    """Do both (see the module docstring); the variables removed. Safe to call twice."""
    names = secret_names(os.environ)
    if not sys.platform.startswith("linux"):
        for name in names:
            os.environ.pop(name, None)
        return names
    for name in names:
        os.environ.pop(name, None)  # unsetenv: gone from libc's environ too
    with contextlib.suppress(OSError, ValueError, IndexError):
        _overwrite_initial_values({name.encode("utf-8", "surrogateescape") for name in names})
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return names


def _overwrite_initial_values(names: set[bytes]) -> None:
    """Zero the values of ``names`` in the environment block the kernel set up at exec (the
    ``env_start``..``env_end`` fields of ``/proc/self/stat``)."""
    if not names:
        return
    with open("/proc/self/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # Fields 50 and 51 of stat(5); the split list starts at field 3.
    start, end = int(fields[47]), int(fields[48])
    if not 0 < start < end:
        return
    block = ctypes.string_at(start, end - start)
    offset = 0
    for entry in block.split(b"\0"):
        name, equals, value = entry.partition(b"=")
        if equals and name in names and value:
            ctypes.memset(start + offset + len(name) + 1, 0, len(value))
        offset += len(entry) + 1
