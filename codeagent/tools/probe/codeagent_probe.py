"""pytest plugin that writes what a run found as JSON lines, for codeagent's test runner.

Runs inside the repository's interpreter, which has pytest but not codeagent: stdlib and
pytest only, Python 3.9+. Enabled with ``-p codeagent_probe`` and configured by environment
(PYTEST_DONT_REWRITE: the fork server imports it before pytest could rewrite it):

``CODEAGENT_PROBE_REPORT``
    Path of the report. Without it the plugin does nothing.
``CODEAGENT_PROBE_ROOT``
    The project root: frame paths are made relative to it, coverage is kept for its files
    (except those under ``site-packages``). Default: the working directory.
``CODEAGENT_PROBE_COVERAGE``
    ``1``: record the lines each test ran, and those run at import and collection time.
``CODEAGENT_PROBE_TRACER``
    ``settrace`` to use ``sys.settrace`` where ``sys.monitoring`` exists (for tests).
``CODEAGENT_PROBE_MODULES``
    Path where the names of the modules imported from outside the root are written at the
    end (the fork server imports them ahead of later runs).

The report has one JSON object per line, written as soon as known (a run killed half way
leaves the tests it finished), each with ``k`` naming its kind:
``{"k": "case", "nodeid", "outcome", "duration", "message", "frames"}``,
``{"k": "collect_error", "nodeid", "message", "frames"}``,
``{"k": "lines", "nodeid", "files": {path: [line, ...]}}`` (per test),
``{"k": "import_lines", "files": {...}}`` and ``{"k": "end", "exitstatus"}``; and, for the
verdict, ``{"k": "start", "nodeid"}`` as each test begins (a run that dies mid-test leaves a
start with no case: the test that was running) and ``{"k": "collected", "count",
"deselected", "files", "conftests", "rootdir", "inifile", "testpaths", "python_files"}`` once
collection is done (``count``: the tests that will run; ``files``/``conftests``: the test
modules and conftest files pytest loaded, relative to the root; the rest is pytest's
configuration as it resolved it).
A frame is ``{"path", "line", "function", "in_repo"}``, outermost first.

The ``CODEAGENT_PROBE_*`` variables are removed from ``os.environ`` as soon as they are read,
so the code under test does not find the report by asking for it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Generator
from types import CodeType, FrameType, TracebackType
from typing import IO, Any, Protocol

import _pytest
import pluggy
import pytest

REPORT_ENV = "CODEAGENT_PROBE_REPORT"
ROOT_ENV = "CODEAGENT_PROBE_ROOT"
COVERAGE_ENV = "CODEAGENT_PROBE_COVERAGE"
TRACER_ENV = "CODEAGENT_PROBE_TRACER"
MODULES_ENV = "CODEAGENT_PROBE_MODULES"

MAX_MESSAGE_CHARS = 4000
MAX_MESSAGE_LINES = 40
MAX_FRAMES = 64
CO_NEWLOCALS = 0x2
"""Set on function code, clear on module and class bodies: the lines of a body belong to
import time whichever test triggered the import."""

Lines = set[tuple[CodeType, int]]
TraceFunction = Callable[[FrameType, str, Any], Any]


class Paths:
    """Where a code file lies: relative to the root or absolute, and whether it is the
    repository's own code (inside the root, not in site-packages, not this probe)."""

    def __init__(self, root: str) -> None:
        self._cwd = os.getcwd()
        self._prefixes = sorted(
            {os.path.join(p, "") for p in (os.path.abspath(root), os.path.realpath(root))},
            key=len,
            reverse=True,
        )
        self._own = os.path.join(os.path.dirname(os.path.realpath(__file__)), "")
        self._cache: dict[str, tuple[str, bool]] = {}

    def locate(self, filename: str) -> tuple[str, bool]:
        found = self._cache.get(filename)
        if found is None:
            found = self._cache[filename] = self._locate(filename)
        return found

    def in_repo(self, filename: str) -> bool:
        return self.locate(filename)[1]

    def inside(self, filename: str) -> bool:
        """Under the root (repository code or not); this probe never is."""
        path = self.locate(filename)[0]
        return not path.startswith("<") and not os.path.isabs(path)

    def _locate(self, filename: str) -> tuple[str, bool]:
        if filename.startswith("<"):
            return filename, False
        absolute = os.path.normpath(os.path.join(self._cwd, filename))
        for candidate in (absolute, os.path.realpath(absolute)):
            if candidate.startswith(self._own):
                return candidate, False
            for prefix in self._prefixes:
                if candidate.startswith(prefix):
                    relative = candidate[len(prefix) :].replace(os.sep, "/")
                    parts = relative.split("/")
                    return relative, "site-packages" not in parts and "dist-packages" not in parts
        return absolute, False


class SettraceTracer:
    """Line coverage with ``sys.settrace``: frames outside the repository get no local
    tracer, so only repository code pays for line events. Every other Python call still
    costs one call of the global tracer: it is a closure doing one dict lookup."""

    def __init__(self, paths: Paths) -> None:
        self.imports: Lines = set()
        self.current: Lines = self.imports
        self._global = self._make_tracer(paths)

    def start(self) -> None:
        threading.settrace(self._global)
        sys.settrace(self._global)

    def stop(self) -> None:
        sys.settrace(None)
        threading.settrace(None)

    def begin_test(self) -> None:
        self.current = set()

    def end_test(self) -> Lines:
        lines, self.current = self.current, self.imports
        return lines

    def _make_tracer(self, paths: Paths) -> TraceFunction:
        local: dict[str, TraceFunction | None] = {}
        tracer = self

        def on_line(frame: FrameType, event: str, arg: Any) -> TraceFunction:
            if event == "line":
                tracer.current.add((frame.f_code, frame.f_lineno))
            return on_line

        def on_call(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
            filename = frame.f_code.co_filename
            try:
                return local[filename]
            except KeyError:
                found = local[filename] = on_line if paths.in_repo(filename) else None
                return found

        return on_call


class MonitoringTracer:
    """Line coverage with ``sys.monitoring`` (3.12+): LINE events only in repository code
    objects, each line disabled once seen and re-enabled at each test boundary."""

    def __init__(self, paths: Paths, tool: int) -> None:
        self.imports: Lines = set()
        self.current: Lines = self.imports
        self._paths = paths
        self._tool = tool
        self._instrumented: set[CodeType] = set()
        self._monitoring: Any = getattr(sys, "monitoring")  # noqa: B009 - absent before 3.12

    @classmethod
    def create(cls, paths: Paths) -> MonitoringTracer | None:
        """A tracer on a free tool id, or None where there is no ``sys.monitoring`` or no
        free id (coverage.py and debuggers take some)."""
        monitoring: Any = getattr(sys, "monitoring", None)
        if monitoring is None:
            return None
        for tool in (monitoring.COVERAGE_ID, 3, 4, monitoring.PROFILER_ID):
            if monitoring.get_tool(tool) is None:
                return cls(paths, tool)
        return None

    def start(self) -> None:
        mon = self._monitoring
        mon.use_tool_id(self._tool, "codeagent-probe")
        mon.register_callback(self._tool, mon.events.PY_START, self._start)
        mon.register_callback(self._tool, mon.events.LINE, self._line)
        mon.set_events(self._tool, mon.events.PY_START)

    def stop(self) -> None:
        mon = self._monitoring
        mon.set_events(self._tool, 0)
        for code in self._instrumented:
            mon.set_local_events(self._tool, code, 0)
        mon.register_callback(self._tool, mon.events.PY_START, None)
        mon.register_callback(self._tool, mon.events.LINE, None)
        mon.free_tool_id(self._tool)

    def begin_test(self) -> None:
        self.current = set()
        self._monitoring.restart_events()

    def end_test(self) -> Lines:
        lines, self.current = self.current, self.imports
        self._monitoring.restart_events()
        return lines

    def _start(self, code: CodeType, offset: int) -> Any:
        if code not in self._instrumented and self._paths.in_repo(code.co_filename):
            self._instrumented.add(code)
            self._monitoring.set_local_events(self._tool, code, self._monitoring.events.LINE)
        return self._monitoring.DISABLE

    def _line(self, code: CodeType, line: int) -> Any:
        self.current.add((code, line))
        return self._monitoring.DISABLE


class Tracer(Protocol):
    imports: Lines
    """Lines run outside any test: imports, collection."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def begin_test(self) -> None: ...
    def end_test(self) -> Lines:
        """The lines run since ``begin_test``; later lines go to ``imports`` again."""


class _Case:
    """A test's phases so far."""

    def __init__(self) -> None:
        self.outcome: str | None = None
        self.duration = 0.0
        self.failed_when: str | None = None
        self.longrepr = ""


class Probe:
    """The plugin object: collects outcomes, failures and lines, writes the report."""

    def __init__(
        self, report: IO[str], paths: Paths, tracer: Tracer | None, modules: str | None = None
    ) -> None:
        self._report = report
        self._paths = paths
        self._tracer = tracer
        self._modules = modules
        self._cases: dict[str, _Case] = {}
        self._failures: dict[tuple[str, str], tuple[str, list[dict[str, Any]]]] = {}
        self._deselected = 0
        self._finished = False

    # -- tests -------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._cases[nodeid] = _Case()
        self._write({"k": "start", "nodeid": nodeid})
        if self._tracer is not None:
            self._tracer.begin_test()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = self._cases.setdefault(report.nodeid, _Case())
        case.duration += report.duration
        outcome = _phase_outcome(report, case.outcome)
        if outcome in ("failed", "error") and case.failed_when is None:
            case.failed_when = report.when
            case.longrepr = report.longreprtext
        case.outcome = outcome

    def pytest_exception_interact(self, node: Any, call: pytest.CallInfo[Any], report: Any) -> None:
        if call.excinfo is not None:
            when = getattr(report, "when", None) or "collect"
            self._failures[(node.nodeid, when)] = self._describe(call.excinfo.value)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        lines = self._tracer.end_test() if self._tracer is not None else None
        case = self._cases.pop(nodeid, None)
        if case is None:
            return
        if case.outcome is None:
            # No phase said how it went (a hook swallowed the call's report): not a pass.
            case.outcome, case.failed_when = "error", "call"
            case.longrepr = "no outcome was reported for this test"
        record: dict[str, Any] = {
            "k": "case",
            "nodeid": nodeid,
            "outcome": case.outcome,
            "duration": round(case.duration, 6),
        }
        if case.failed_when is not None:
            # No exception for a strict xpass: pytest's text is all there is.
            message, frames = self._failures.pop(
                (nodeid, case.failed_when), (_bounded(case.longrepr), [])
            )
            record["message"] = message
            record["frames"] = frames
        self._write(record)
        if lines is not None:
            self._write({"k": "lines", "nodeid": nodeid, "files": self._files(lines)})

    # -- collection --------------------------------------------------------------------------

    def pytest_deselected(self, items: list[Any]) -> None:
        self._deselected += len(items)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        config = session.config
        files = set()
        for item in session.items:
            path = getattr(item, "path", None) or getattr(item, "fspath", None)
            if path is not None and self._paths.inside(str(path)):
                files.add(self._paths.locate(str(path))[0])
        conftests = sorted(
            self._paths.locate(name)[0]
            for name in (getattr(p, "__file__", None) for p in config.pluginmanager.get_plugins())
            if isinstance(name, str)
            and os.path.basename(name) == "conftest.py"
            and self._paths.inside(name)
        )
        inifile = getattr(config, "inipath", None) or getattr(config, "inifile", None)
        self._write(
            {
                "k": "collected",
                "count": len(session.items),
                "deselected": self._deselected,
                "files": sorted(files),
                "conftests": conftests,
                "rootdir": str(getattr(config, "rootpath", None) or getattr(config, "rootdir", "")),
                "inifile": str(inifile) if inifile else None,
                "testpaths": [str(p) for p in _ini(config, "testpaths")],
                "python_files": [str(p) for p in _ini(config, "python_files")],
            }
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        message, frames = self._failures.pop(
            (report.nodeid, "collect"), (_bounded(report.longreprtext), [])
        )
        self.collect_error(report.nodeid, message, frames)

    def conftest_failed(self, error: BaseException) -> None:
        """An initial conftest.py failed to import: pytest stops with a usage error before
        any collection report, so this is the only trace of it."""
        path = getattr(error, "path", None)
        nodeid = self._paths.locate(str(path))[0] if path is not None else "conftest.py"
        cause = getattr(error, "cause", None) or error.__cause__ or error
        message, frames = self._describe(cause)
        self.collect_error(nodeid, message, frames)

    def collect_error(self, nodeid: str, message: str, frames: list[dict[str, Any]]) -> None:
        self._write({"k": "collect_error", "nodeid": nodeid, "message": message, "frames": frames})

    # -- end ---------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.finish(int(exitstatus))

    def pytest_unconfigure(self) -> None:
        self.finish(None)
        if self._modules:
            # The very last hook: modules that plugins import as late as the terminal summary
            # (hypothesis's imports all of hypothesis there, ~0.6 s a run) are preloaded too.
            _write_modules(self._modules, self._paths)

    def finish(self, exitstatus: int | None) -> None:
        if self._finished:
            return
        self._finished = True
        if self._tracer is not None:
            self._tracer.stop()
            imports = self._files(self._tracer.imports, per_test=False)
            self._write({"k": "import_lines", "files": imports})
        self._write({"k": "end", "exitstatus": exitstatus})
        self._report.close()

    # -- helpers -----------------------------------------------------------------------------

    def _describe(self, error: BaseException) -> tuple[str, list[dict[str, Any]]]:
        """The exception's own lines and its traceback frames. A module that failed to
        import reaches us wrapped in pytest's CollectError: the cause is the real error."""
        if type(error).__name__ == "CollectError" and error.__cause__ is not None:
            error = error.__cause__
        lines = traceback.format_exception_only(type(error), error)
        return _bounded("".join(lines)), self._frames(error.__traceback__)

    def _frames(self, tb: TracebackType | None) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        while tb is not None:
            frame = tb.tb_frame
            filename = frame.f_code.co_filename
            if not _internal(filename) and not _hidden(frame):
                path, in_repo = self._paths.locate(filename)
                frames.append(
                    {
                        "path": path,
                        "line": tb.tb_lineno,
                        "function": frame.f_code.co_name,
                        "in_repo": in_repo,
                    }
                )
            tb = tb.tb_next
        # Import machinery and runners above the first repository frame are noise.
        first = next((i for i, f in enumerate(frames) if f["in_repo"]), 0)
        frames = frames[first:]
        if len(frames) > MAX_FRAMES:
            frames = frames[: MAX_FRAMES // 4] + frames[-(MAX_FRAMES - MAX_FRAMES // 4) :]
        return frames

    def _files(self, lines: Lines, *, per_test: bool = True) -> dict[str, list[int]]:
        """Lines grouped by file. A test's body lines (module or class code it imported) move
        to import time: they run once, whichever test got there first."""
        files: dict[str, set[int]] = {}
        imports: Lines = self._tracer.imports if self._tracer is not None else set()
        for code, line in lines:
            if line <= 0:
                continue
            if per_test and not code.co_flags & CO_NEWLOCALS:
                imports.add((code, line))
                continue
            files.setdefault(self._paths.locate(code.co_filename)[0], set()).add(line)
        return {path: sorted(found) for path, found in files.items()}

    def _write(self, record: dict[str, Any]) -> None:
        if self._report.closed:
            return
        self._report.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._report.flush()


def _phase_outcome(report: pytest.TestReport, previous: str | None) -> str | None:
    """The test's outcome after this phase's report; the first failure wins."""
    if previous in ("failed", "error"):
        return previous
    xfail = hasattr(report, "wasxfail")
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if xfail else "skipped"
    if report.when == "call":
        return "xpassed" if xfail else "passed"
    return previous


def _bounded(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    if len(lines) > MAX_MESSAGE_LINES:
        lines = [*lines[:MAX_MESSAGE_LINES], f"... ({len(lines) - MAX_MESSAGE_LINES} more lines)"]
    joined = "\n".join(lines)
    return joined if len(joined) <= MAX_MESSAGE_CHARS else joined[:MAX_MESSAGE_CHARS] + " ..."


def _ini(config: pytest.Config, name: str) -> list[Any]:
    try:
        value = config.getini(name)
    except (ValueError, KeyError):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _package_dir(module: Any) -> str:
    return os.path.join(os.path.dirname(os.path.realpath(module.__file__)), "")


_INTERNAL = tuple({_package_dir(m) for m in (_pytest, pluggy, pytest)})


def _internal(filename: str) -> bool:
    """pytest's and pluggy's own frames, and the frozen import machinery."""
    if filename.startswith("<frozen "):
        return True
    return os.path.realpath(filename).startswith(_INTERNAL) if os.path.isabs(filename) else False


def _hidden(frame: FrameType) -> bool:
    """Frames that hide themselves from pytest's tracebacks: ``__tracebackhide__`` and
    unittest's ``__unittest``."""
    try:
        hide = frame.f_locals.get("__tracebackhide__", frame.f_globals.get("__tracebackhide__"))
    except Exception:
        return False
    return bool(hide and not callable(hide)) or "__unittest" in frame.f_globals


def _write_modules(path: str, paths: Paths) -> None:
    """The modules imported from files outside the root, for the fork server to preload."""
    names = []
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if name == "__main__" or name.startswith(
            ("codeagent_probe", "codeagent_forkserver", "codeagent_reaper")
        ):
            continue
        if isinstance(filename, str) and not paths.inside(filename):
            names.append(name)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(sorted(names), out)


def _install(config: pytest.Config) -> Probe | None:
    """Create and register the probe once per run; None when no report was asked for."""
    existing = config.pluginmanager.get_plugin("codeagent-probe-session")
    if existing is not None:
        probe: Probe = existing
        return probe
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # An xdist worker: its controller gets the reports (without exceptions or lines).
        return None
    settings = {
        name: os.environ.pop(name, None)
        for name in (REPORT_ENV, ROOT_ENV, COVERAGE_ENV, TRACER_ENV, MODULES_ENV)
    }
    report_path = settings[REPORT_ENV]
    if not report_path:
        return None
    paths = Paths(settings[ROOT_ENV] or os.getcwd())
    tracer: Tracer | None = None
    if settings[COVERAGE_ENV] == "1":
        monitoring = None if settings[TRACER_ENV] == "settrace" else MonitoringTracer.create(paths)
        tracer = monitoring or SettraceTracer(paths)
    report = open(report_path, "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run
    probe = Probe(report, paths, tracer, settings[MODULES_ENV])
    config.pluginmanager.register(probe, "codeagent-probe-session")
    if tracer is not None:
        tracer.start()
    return probe


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, Any, None]:
    """Start before conftest.py files load, so their imports are traced, and catch their
    import failure."""
    probe = _install(early_config)
    outcome = yield
    if probe is not None and outcome.excinfo is not None:
        probe.conftest_failed(outcome.excinfo[1])


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _install(config)
