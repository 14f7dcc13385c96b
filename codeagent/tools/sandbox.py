"""Where the tests of the project being fixed run: a sandbox, where the platform has one.

The tests run the project's code and what the model wrote into it: untrusted code. On Linux,
with bubblewrap (``bwrap``, the sandbox of Flatpak and of Claude Code's Linux sandbox; Debian
and Ubuntu package it as ``bubblewrap``), every test run (and the fork server with all its
runs) is started inside one:

- the whole filesystem read-only; writable only the work copy, the runner's own folder and a
  private ``/tmp`` (``TMPDIR=/tmp``); a private ``/run`` and ``/dev/shm``; the usual secrets
  in the home folder (SSH, GPG, cloud and registry credentials, ``.netrc``, shell histories,
  codeagent's own config) hidden;
- no network (a network namespace of its own: only its own loopback);
- its own process namespace, so codeagent's process (and its environment, its memory) cannot
  even be named, and everything a run starts dies with it;
- no capabilities, a session of its own (no terminal to push keystrokes into), and it dies
  with its parent.

``find_sandbox`` checks once that bubblewrap works here (user namespaces may be switched off);
where it does not, test runs are not confined and the returned ``Sandbox`` says why, for the
session to say once. ``mode``: ``auto`` (bubblewrap when it works), ``bubblewrap`` (required:
``ConfigError`` otherwise), ``off``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codeagent.errors import ConfigError

MODES = ("auto", "bubblewrap", "off")
SECRETS = (
    *(".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".netrc", ".git-credentials"),
    *(".pypirc", ".npmrc", ".yarnrc", ".cargo/credentials", ".cargo/credentials.toml"),
    *(".config/gcloud", ".config/gh", ".config/hub", ".config/git/credentials"),
    *(".config/codeagent", ".local/share/keyrings", ".password-store", ".vault-token"),
    *(".bash_history", ".zsh_history", ".python_history", ".psql_history", ".mysql_history"),
)
"""Paths under the home folder hidden from test runs (those that exist)."""


@dataclass(frozen=True, slots=True)
class Sandbox:
    """How test runs are confined: ``wrap`` a command line to run it inside."""

    kind: str
    """``bubblewrap`` or ``none``."""
    note: str
    """For the user: what confines the runs, or why nothing does."""
    program: str = ""
    hidden: tuple[str, ...] = ()
    """Existing paths hidden from the runs."""

    @property
    def active(self) -> bool:
        return self.kind != "none"

    def wrap(self, argv: Sequence[str], *, writable: Sequence[Path], cwd: Path) -> list[str]:
        """``argv`` run inside the sandbox with ``writable`` folders writable, from ``cwd``."""
        if not self.active:
            return list(argv)
        args = [
            self.program,
            *("--die-with-parent", "--new-session", "--unshare-all", "--cap-drop", "ALL"),
            *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"),
            *("--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"),
        ]
        if os.path.isdir("/run") and not os.path.islink("/run"):
            args += ["--tmpfs", "/run"]
        for path in self.hidden:
            if os.path.isdir(path):
                args += ["--tmpfs", path]
            else:
                args += ["--ro-bind", "/dev/null", path]
        for folder in writable:
            real = os.path.realpath(folder)
            args += ["--bind", real, real]
        args += ["--setenv", "TMPDIR", "/tmp", "--chdir", os.path.realpath(cwd), "--", *argv]
        return args


def find_sandbox(mode: str = "auto") -> Sandbox:
    """The sandbox for test runs (see the module docstring); checked once per process."""
    if mode not in MODES:
        raise ConfigError(f"--sandbox must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return Sandbox("none", "off (--sandbox off): test runs are not confined")
    found = _bubblewrap(shutil.which("bwrap") or "")
    if not found.active and mode == "bubblewrap":
        raise ConfigError(f"--sandbox bubblewrap: {found.note}")
    return found


@functools.cache
def _bubblewrap(program: str) -> Sandbox:
    if not sys.platform.startswith("linux"):
        return Sandbox("none", f"none on {sys.platform}: test runs are not confined")
    if not program:
        return Sandbox(
            "none", "none: bubblewrap (bwrap) is not installed; test runs are not confined"
        )
    home = os.path.expanduser("~")
    hidden = tuple(
        path
        for path in (os.path.join(home, name) for name in SECRETS)
        if os.path.lexists(path) and not os.path.islink(path)
    )
    sandbox = Sandbox(
        "bubblewrap", "bubblewrap: no network, writes only to the work copy", program, hidden
    )
    probe = sandbox.wrap(["/bin/sh", "-c", "exit 0"], writable=(), cwd=Path("/"))
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Sandbox("none", f"none: bubblewrap does not run here ({exc}); not confined")
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
        return Sandbox("none", f"none: bubblewrap does not work here ({why[0]}); not confined")
    return sandbox
