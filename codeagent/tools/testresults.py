"""What a test run found, as typed values: the outcome of each test, its traceback, and which
lines each test ran.

The runner (``tools.pytest_runner``) produces a ``TestReport`` from the JSON file our pytest
plugin writes; the agent reads nothing else about a run. Paths are relative to the work copy's
root with ``/`` separators; a frame outside the work copy keeps its absolute path and has
``in_repo`` false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FAILED = frozenset({"failed", "error"})
"""Outcomes that count as failing (``error``: a fixture or setup failed)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One traceback entry, outermost first in ``TestCase.frames``."""

    path: str
    line: int
    """1-based."""
    function: str
    in_repo: bool


@dataclass(frozen=True, slots=True)
class TestCase:
    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    """pytest's node id, e.g. ``tests/test_ops.py::test_mean[2-3]``."""
    outcome: str
    """``passed``, ``failed``, ``error``, ``skipped``, ``xfailed`` or ``xpassed``."""
    duration: float = 0.0
    message: str = ""
    """For a failure: the exception line(s), e.g. ``AssertionError: assert 2.5 == 2.0``."""
    frames: tuple[Frame, ...] = ()
    """For a failure: the traceback, outermost first, the frame that raised last."""

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED

    @property
    def path(self) -> str:
        """The test file of the node id."""
        return self.nodeid.split("::", 1)[0]


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which lines of the work copy's Python files ran: per test, and at import time.

    ``per_test[nodeid][path]`` are the lines a test ran (setup, call and teardown);
    ``at_import[path]`` the lines run while modules were imported and tests collected (module
    level code, default arguments, class bodies, decorators): no single test owns those.
    """

    per_test: Mapping[str, Mapping[str, frozenset[int]]] = field(default_factory=dict)
    at_import: Mapping[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TestLayout:
    """What pytest collected and how it was configured, as the probe saw it: which files are
    the tests (``agent.guard`` protects them from edits)."""

    __test__ = False

    test_files: frozenset[str] = frozenset()
    """Modules pytest collected tests from, relative to the root (inside it only)."""
    conftests: frozenset[str] = frozenset()
    """conftest.py files pytest loaded, relative to the root."""
    rootdir: str = ""
    inifile: str = ""
    """The configuration file pytest read (absolute), or empty."""
    testpaths: tuple[str, ...] = ()
    python_files: tuple[str, ...] = ()
    """pytest's ``python_files`` patterns (e.g. ``test_*.py``, Django's ``tests.py``)."""


@dataclass(frozen=True, slots=True)
class TestReport:
    """One run of the test command."""

    __test__ = False

    exit_code: int
    """The command's exit status (pytest: 0 all passed, 1 some failed, 2 interrupted, 3
    internal error, 4 usage error, 5 no tests collected); -9 and the like when killed."""
    cases: tuple[TestCase, ...] = ()
    collection_errors: tuple[TestCase, ...] = ()
    """Modules that failed to import or collect; ``nodeid`` is the file."""
    output: str = ""
    """The command's stdout and stderr, bounded (head and tail kept)."""
    duration: float = 0.0
    timed_out: bool = False
    coverage: Coverage | None = None
    """Only when the run was asked to trace."""
    finished: bool = False
    """The probe saw pytest's session end (a run that dies part way, or a plain-text run,
    never gets there)."""
    end_status: int | None = None
    """The exit status pytest meant to end with, as the probe saw it at the session's end."""
    collected: int | None = None
    """How many tests were selected to run (after deselection); None when unknown."""
    deselected: int = 0
    layout: TestLayout | None = None

    @property
    def failures(self) -> tuple[TestCase, ...]:
        """Failing tests and collection errors, in the order seen."""
        return self.collection_errors + tuple(c for c in self.cases if c.failed)

    @property
    def passed(self) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if c.outcome == "passed")

    @property
    def ran(self) -> bool:
        """Whether the tests ran at all (some test had an outcome, or none were collected
        cleanly): false for a missing interpreter, a usage error, a crash, a timeout before
        any result."""
        return bool(self.cases) or (self.exit_code == 5 and not self.collection_errors)

    @property
    def complete(self) -> bool:
        """The run went to its end as pytest meant it to: the probe saw the session end with
        the status the process really exited with (a test that calls ``os._exit``, a crash or
        a kill never gets this far), and every test selected to run has an outcome."""
        return (
            self.finished
            and not self.timed_out
            and self.end_status == self.exit_code
            and (self.collected is None or len(self.cases) >= self.collected)
        )

    @property
    def green(self) -> bool:
        """Everything that was to run ran and passed (or there were no tests). What counts as
        a fix asks more of a run: ``agent.expectations``."""
        return self.complete and self.exit_code in (0, 5) and not self.failures


def is_test_file(path: str) -> bool:
    """pytest's default conventions, plus conftest: the files a fix must not edit unless the
    user allows it."""
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")
    return (
        name == "conftest.py"
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or any(p in ("tests", "test") for p in parts[:-1])
    )
