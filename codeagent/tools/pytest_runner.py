"""Run a repository's pytest suite with its own interpreter and read the result as typed values.

Each run goes through the fork server where it can (tens of milliseconds for a few tests
instead of a fresh interpreter's ~0.4 s), else through ``python -m pytest`` under
``probe/codeagent_reaper.py``; both load the probe plugin, which writes the report the
``TestReport`` comes from. Either way the run is killed at its timeout with everything it
started, also what left its process group (the reaper's docstring says what cannot be found).
The harness is isolated from the project's path and runs get a minimal environment
(``tools.harness``): the work copy first on the tests' ``sys.path`` (so it wins over an editable
install of the user's tree), no bytecode written, a fixed hash seed, no secrets.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from codeagent.errors import TestRunError
from codeagent.tools.command import CommandResult, kill_group, run_command
from codeagent.tools.forkserver import ForkServer, ServerFailed, fork_supported
from codeagent.tools.harness import harness_argv, run_environment
from codeagent.tools.report_parse import load_report
from codeagent.tools.sandbox import Sandbox
from codeagent.tools.testresults import TestReport

BASE_ARGS = (
    "-p",
    "no:cacheprovider",
    "-q",
    "--color=no",
    "-rfE",
    "--continue-on-collection-errors",
    "-p",
    "codeagent_probe",
)
"""Fixed arguments of every run. A module that fails to import does not stop the others: the
agent needs their outcomes and coverage too."""
REAPER_GRACE = 10.0
"""Seconds the reaper gets, after a timeout, to kill the run and what it left (its sweep takes
at most 5) before its own group is killed."""
VALUE_OPTIONS = frozenset(
    (
        *("-k", "-m", "-p", "-c", "-o", "-W", "-r", "-n", "--config-file", "--override-ini"),
        *("--pythonwarnings", "--rootdir", "--ignore", "--ignore-glob", "--deselect"),
        *("--confcutdir", "--basetemp", "--maxfail", "--tb", "--durations", "--durations-min"),
        *("--import-mode", "--junitxml", "--junit-xml", "--junit-prefix", "--capture", "--color"),
        *("--log-level", "--log-format", "--log-date-format", "--log-cli-level"),
        *("--log-cli-format", "--log-cli-date-format", "--log-file", "--log-file-level"),
        *("--log-file-format", "--log-file-date-format", "--log-file-mode", "--code-highlight"),
        *("--pdbcls", "--doctest-glob", "--doctest-report", "--verbosity", "--report-log"),
        *("--show-capture", "--assert", "--numprocesses", "--dist", "--timeout", "--reruns"),
        *("--randomly-seed", "--asyncio-mode", "--cov", "--cov-report", "--cov-config", "--ds"),
    )
)
"""pytest options (core and common plugins) whose value is the next argument: the argument
after them is no test path."""


def split_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The user's pytest arguments as (options, test paths). Paths are dropped when a run
    selects node ids; options (``-k``, ``-m``, ``--deselect``...) stay."""
    options: list[str] = []
    paths: list[str] = []
    takes_value = False
    for arg in args:
        if takes_value:
            options.append(arg)
            takes_value = False
        elif arg.startswith("-"):
            options.append(arg)
            takes_value = arg in VALUE_OPTIONS
        else:
            paths.append(arg)
    return options, paths


class PytestRunner:
    """Runs the tests of the project at ``root`` (pytest's rootdir, the runs' working
    directory) with the interpreter ``python``; ``args`` are the user's extra pytest
    arguments. ``sandbox``: where runs happen (``tools.sandbox``; none by default), with the
    folders in ``writable`` (the work copy's) and the runner's own writable. Not thread-safe:
    one run at a time, but ``abort`` may come from another thread. Close it (or use ``with``)
    to stop the fork server and remove its temporary files.

    Raises ``TestRunError`` when ``python`` or ``root`` does not exist.
    """

    def __init__(
        self,
        root: Path,
        *,
        python: str,
        args: Sequence[str] = (),
        timeout: float = 300.0,
        fork: bool = True,
        sandbox: Sandbox | None = None,
        writable: Sequence[Path] = (),
    ) -> None:
        self._root = Path(root).absolute()
        if not self._root.is_dir():
            raise TestRunError(f"the project root {root} is not a directory")
        self._python = _interpreter(python)
        self._options, self._paths = split_args(args)
        self._timeout = timeout
        self._env = run_environment(self._root)
        self._workdir = Path(tempfile.mkdtemp(prefix="codeagent-pytest-"))
        self.sandbox = sandbox or Sandbox("none", "none")
        self._writable = (*(writable or (self._root,)), self._workdir)
        self._aborted = False
        self._command: int | None = None
        """The process group of a plain run in progress (for ``abort``)."""
        self._fork = fork and fork_supported()
        self._server: ForkServer | None = None
        self._server_failures = 0
        self._preloaded = False
        self._cold = False
        self._runs = 0
        self.server_error = ""
        """Why the fork server was last replaced or given up; empty while all went well."""

    @property
    def forking(self) -> bool:
        """Whether runs still go through the fork server."""
        return self._fork

    def run(
        self,
        select: Sequence[str] | None = None,
        *,
        coverage: bool = False,
        exitfirst: bool = False,
        timeout: float | None = None,
    ) -> TestReport:
        """Run the node ids ``select`` (None: the suite as the user configured it). With
        ``coverage`` the report says which lines each test ran; with ``exitfirst`` it stops
        at the first failure. A run whose tests fail is a normal report; ``TestRunError``
        means pytest could not run (no pytest in the interpreter, a usage error)."""
        if self._aborted:
            raise TestRunError("the test runs were stopped")
        if isinstance(select, str):
            select = [select]  # one node id, not its characters
        if select is not None and not select:
            return TestReport(exit_code=5, output="no tests selected")
        self._runs += 1
        report_path = self._workdir / f"report-{self._runs}.jsonl"
        probe_env = {
            "CODEAGENT_PROBE_REPORT": str(report_path),
            "CODEAGENT_PROBE_ROOT": str(self._root),
            "CODEAGENT_PROBE_COVERAGE": "1" if coverage else "0",
        }
        modules = self._workdir / "modules.json"
        preload = self._fork and not self._preloaded and select is None
        if preload:
            probe_env["CODEAGENT_PROBE_MODULES"] = str(modules)
        result = self._execute(self._arguments(select, exitfirst), probe_env, timeout)
        if self._aborted:
            raise TestRunError("the test runs were stopped")
        report = load_report(report_path, result, coverage=coverage)
        report_path.unlink(missing_ok=True)
        self._check(report)
        if preload and modules.exists():
            self._preload(modules)
        return report

    def abort(self) -> None:
        """Stop the run in progress at once, with everything it started, and refuse later
        runs (``TestRunError``). Safe from another thread or a signal handler: for an
        interrupted session, which must not wait for a test to end."""
        self._aborted = True
        server, command = self._server, self._command
        if server is not None:
            server.kill()
        if command is not None:
            self._stop(command)

    def close(self) -> None:
        self._stop_server()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> PytestRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _arguments(self, select: Sequence[str] | None, exitfirst: bool) -> list[str]:
        args = [*BASE_ARGS, *self._options]
        if exitfirst:
            args.append("-x")
        args.extend(self._paths if select is None else select)
        return args

    def _execute(
        self, args: list[str], probe_env: dict[str, str], timeout: float | None
    ) -> CommandResult:
        limit = self._timeout if timeout is None else timeout
        while self._fork:
            try:
                return self._served().run(args, probe_env, timeout=limit)
            except ServerFailed as exc:
                if self._aborted:
                    raise TestRunError("the test runs were stopped") from None
                # Replace a broken server once; after a second failure do without.
                self._stop_server()
                self._server_failures += 1
                self.server_error = str(exc)
                self._fork = self._server_failures < 2
        try:
            return run_command(
                self._wrap(harness_argv(self._python, "pytest", args)),
                cwd=self._root,
                env={**self._env, **probe_env},
                timeout=limit,
                stop_grace=REAPER_GRACE,
                started=self._started,
            )
        finally:
            self._command = None

    def _started(self, pid: int) -> None:
        self._command = pid
        if self._aborted:
            self._stop(pid)

    def _stop(self, command: int) -> None:
        """End a plain run now: in a sandbox its whole namespace dies with it; outside, the
        reaper is asked (SIGTERM), which kills the run's own group and what left it."""
        if self.sandbox.active:
            kill_group(command)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(command, signal.SIGTERM)

    def _wrap(self, argv: list[str]) -> list[str]:
        return self.sandbox.wrap(argv, writable=self._writable, cwd=self._root)

    def _served(self) -> ForkServer:
        """The fork server, started if need be. One whose installed pytest plugins imported
        project code or started threads is replaced by a cold one (pytest's own modules)."""
        if self._server is None:
            server = self._start_server()
            if not self._cold and (server.hello.get("tainted") or server.hello.get("threads") != 1):
                self.server_error = f"pytest plugins not preloaded: {server.hello}"
                self._cold = True
                server.close()
                server = self._start_server()
            self._server = server
        return self._server

    def _start_server(self) -> ForkServer:
        return ForkServer(
            self._python,
            self._root,
            self._env,
            self._workdir,
            cold=self._cold,
            wrap=self._wrap if self.sandbox.active else None,
        )

    def _preload(self, modules: Path) -> None:
        """Warm the server with the third-party modules the first full run imported. One that
        drags in project code or starts a thread would make later forks wrong or unsafe: then
        the server is replaced by a fresh one without them."""
        self._preloaded = True
        if self._server is None:
            return
        try:
            answer = self._server.preload(modules)
        except ServerFailed as exc:
            self.server_error = str(exc)
            self._stop_server()
            return
        if answer.get("tainted") or answer.get("threads") != 1:
            self.server_error = f"preloading was undone: {answer}"
            self._stop_server()

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _check(self, report: TestReport) -> None:
        if report.cases or report.collection_errors or report.timed_out:
            return
        if re.search(r"No module named '?pytest'?$", report.output, re.M):
            raise TestRunError(
                f"pytest is not importable by {self._python} (No module named pytest)"
            )
        if report.exit_code == 4:
            raise TestRunError(f"pytest usage error: {_error_line(report.output)}")


def _interpreter(python: str) -> str:
    found = shutil.which(python) if os.sep not in python else None
    path = Path(found or python)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise TestRunError(f"the test interpreter {python} does not exist or cannot run")
    return str(path if path.is_absolute() else path.absolute())


def _error_line(output: str) -> str:
    """The line of pytest's output that says what was wrong (not its usage synopsis)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line.lower() and "usage:" not in line]
    return (errors or lines or ["no output"])[0][:300]
