"""What a test run found, read from the probe's report or, failing that, from pytest's text.

Both readers are total: malformed, missing or truncated input gives fewer values, never an
exception, and text that is valid Unicode: a lone surrogate (JSON's ``\\udcff``, how the probe
writes a message holding one, e.g. from bytes decoded with ``surrogateescape``) becomes U+FFFD,
so no value can break a UTF-8 JSON line, a WebSocket frame or a terminal later. The probe's
report (JSON lines, see ``probe/codeagent_probe.py``) is the source of truth;
``parse_pytest_output`` is the best effort for a run that only left text (a custom test
command): the short summary's ``FAILED``/``ERROR`` lines and the tracebacks' ``path:line``
lines.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeGuard

from codeagent.tools.command import CommandResult
from codeagent.tools.testresults import Coverage, Frame, TestCase, TestLayout, TestReport

OUTCOMES = frozenset({"passed", "failed", "error", "skipped", "xfailed", "xpassed"})

LineSets = dict[str, set[int]]
_SURROGATE = re.compile("[\ud800-\udfff]")


def load_report(path: Path, result: CommandResult, *, coverage: bool) -> TestReport:
    """The report at ``path`` joined with how its run went; a missing file gives a report
    with the run's exit code and output only."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return parse_report(text, result, coverage=coverage)


def parse_report(text: str, result: CommandResult, *, coverage: bool) -> TestReport:
    """``text`` is the probe's JSON lines; records that do not parse are skipped."""
    cases: dict[str, TestCase] = {}
    errors: list[TestCase] = []
    per_test: dict[str, LineSets] = {}
    at_import: LineSets = {}
    started: list[str] = []
    end: dict[str, Any] | None = None
    collected: dict[str, Any] = {}
    for record in _records(text):
        kind = record.get("k")
        if kind == "start" and isinstance(record.get("nodeid"), str):
            started.append(_text(record["nodeid"]))
        elif kind == "end":
            end = record
        elif kind == "collected":
            collected = record
        elif kind == "case":
            case = _case(record, record.get("outcome"))
            if case is not None:
                cases[case.nodeid] = case
        elif kind == "collect_error":
            error = _case(record, "error")
            if error is not None:
                errors.append(error)
        elif kind == "lines" and isinstance(record.get("nodeid"), str):
            _merge(per_test.setdefault(_text(record["nodeid"]), {}), record.get("files"))
        elif kind == "import_lines":
            _merge(at_import, record.get("files"))
    if end is None:
        # The process ended before pytest did: the test that was running when it died failed.
        for nodeid in started:
            if nodeid not in cases:
                cases[nodeid] = TestCase(nodeid, "failed", message=_died(result))
    end_status = end.get("exitstatus") if end is not None else None
    return TestReport(
        exit_code=result.exit_code,
        cases=tuple(cases.values()),
        collection_errors=tuple(errors),
        output=result.output,
        duration=result.duration,
        timed_out=result.timed_out,
        coverage=(
            Coverage(
                per_test={nodeid: _frozen(files) for nodeid, files in per_test.items()},
                at_import=_frozen(at_import),
            )
            if coverage
            else None
        ),
        finished=end is not None,
        end_status=end_status if _is_int(end_status) else None,
        collected=_count(collected.get("count")),
        deselected=_count(collected.get("deselected")) or 0,
        layout=_layout(collected) if collected else None,
    )


def _died(result: CommandResult) -> str:
    if result.timed_out:
        how = "it was killed at the timeout"
    elif result.exit_code < 0:
        how = f"killed by signal {_signal_name(-result.exit_code)}"
    else:
        how = f"exit status {result.exit_code}"
    return f"the test process ended while this test was running ({how})"


def _signal_name(number: int) -> str:
    import signal  # noqa: PLC0415 - only for this message

    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _count(value: object) -> int | None:
    return value if _is_int(value) and value >= 0 else None


def _layout(record: Mapping[str, Any]) -> TestLayout:
    def strings(key: str) -> tuple[str, ...]:
        value = record.get(key)
        items = value if isinstance(value, list) else []
        return tuple(_text(v) for v in items if isinstance(v, str))

    def string(key: str) -> str:
        value = record.get(key)
        return _text(value) if isinstance(value, str) else ""

    return TestLayout(
        test_files=frozenset(strings("files")),
        conftests=frozenset(strings("conftests")),
        rootdir=string("rootdir"),
        inifile=string("inifile"),
        testpaths=strings("testpaths"),
        python_files=strings("python_files"),
    )


def _records(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested garbage
            continue
        if isinstance(record, dict):
            yield record


def _case(record: Mapping[str, Any], outcome: object) -> TestCase | None:
    nodeid = record.get("nodeid")
    if not isinstance(nodeid, str) or outcome not in OUTCOMES:
        return None
    duration = record.get("duration", 0.0)
    message = record.get("message", "")
    frames = record.get("frames", [])
    return TestCase(
        nodeid=_text(nodeid),
        outcome=str(outcome),
        duration=_seconds(duration),
        message=_text(message) if isinstance(message, str) else "",
        frames=tuple(_frames(frames)),
    )


def _frames(value: object) -> Iterator[Frame]:
    if not isinstance(value, list):
        return
    for item in value:
        if not isinstance(item, dict):
            continue
        path, line = item.get("path"), item.get("line")
        function, in_repo = item.get("function", ""), item.get("in_repo", False)
        if isinstance(path, str) and _is_int(line) and isinstance(function, str):
            yield Frame(_text(path), line, _text(function), in_repo=in_repo is True)


def _merge(into: LineSets, files: object) -> None:
    if not isinstance(files, dict):
        return
    for path, lines in files.items():
        if isinstance(path, str) and isinstance(lines, list):
            into.setdefault(_text(path), set()).update(n for n in lines if _is_int(n) and n > 0)


def _text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def _frozen(files: LineSets) -> dict[str, frozenset[int]]:
    return {path: frozenset(lines) for path, lines in files.items()}


def _seconds(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return 0.0
    try:
        seconds = float(value)
    except OverflowError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- plain text -------------------------------------------------------------------------------

_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S.*)$")
_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
_SHORT = re.compile(r"^(?P<path>[^\s:\"][^:\"]*\.py):(?P<line>\d+): in (?P<function>\S+)\s*$")
_LONG = re.compile(r"^(?P<path>[^\s:\"][^:\"]*\.py):(?P<line>\d+):(?: [\w.]+)?\s*$")
_NATIVE = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')
_DEF = re.compile(r"^[\s>]*(?:async\s+)?def (\w+)\(")
_ERROR_SECTION = re.compile(r"^ERROR (?:at (?:setup|teardown) of|collecting) (.+)$")


def parse_pytest_output(text: str, *, root: Path | None = None) -> tuple[TestCase, ...]:
    """The failing tests (``failed``) and errors (``error``) that pytest's text shows, with the
    message of their summary line (``-rfE``) or their ``E`` lines, and their frames.
    ``root``: absolute paths under it become relative and count as the repository's."""
    summary: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if match := _SUMMARY.match(line):
            nodeid, message = _split_summary(match.group(2))
            if ".py" in nodeid:  # not unittest's "FAILED (failures=1)"
                summary[nodeid] = ("failed" if match.group(1) == "FAILED" else "error", message)
    cases = {
        nodeid: TestCase(nodeid=nodeid, outcome=outcome, message=message)
        for nodeid, (outcome, message) in summary.items()
    }
    for heading, body in _sections(text):
        error = _ERROR_SECTION.match(heading)
        title, outcome = (error.group(1), "error") if error else (heading, "failed")
        frames = tuple(_text_frames(body, root))
        nodeid = _match_nodeid(title, cases, frames)
        previous = cases.get(nodeid)
        message = _e_lines(body)
        cases[nodeid] = TestCase(
            nodeid=nodeid,
            outcome=previous.outcome if previous else outcome,
            message=previous.message if previous and previous.message else message,
            frames=frames,
        )
    return tuple(cases.values())


def _split_summary(rest: str) -> tuple[str, str]:
    """``nodeid - message``: the first `` - `` outside the node id's brackets."""
    depth = 0
    for index, char in enumerate(rest):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif depth == 0 and rest.startswith(" - ", index):
            return rest[:index], rest[index + 3 :]
    return rest.strip(), ""


def _sections(text: str) -> Iterator[tuple[str, list[str]]]:
    """The ``___ title ___`` sections of the FAILURES and ERRORS blocks (not PASSES)."""
    title: str | None = None
    body: list[str] = []
    in_failures = False
    for line in text.splitlines():
        header = _SECTION.match(line)
        block = line.startswith("=" * 10)
        if header or block:
            if title is not None:
                yield title, body
            if block:
                in_failures = line.strip("= ") in ("FAILURES", "ERRORS")
            title, body = (header.group(1) if header and in_failures else None), []
        elif title is not None:
            body.append(line)
    if title is not None:
        yield title, body


def _text_frames(body: list[str], root: Path | None) -> Iterator[Frame]:
    function = ""
    for line in body:
        if definition := _DEF.match(line):
            function = function or definition.group(1)
        match = _SHORT.match(line) or _NATIVE.match(line) or _LONG.match(line)
        if match is None:
            continue
        named = match.groupdict().get("function")
        path, in_repo = _text_path(match.group("path"), root)
        yield Frame(path, int(match.group("line")), named or function, in_repo)
        function = ""


def _text_path(path: str, root: Path | None) -> tuple[str, bool]:
    if os.path.isabs(path):
        if root is None:
            return path, False
        try:
            path = Path(path).relative_to(root).as_posix()
        except ValueError:
            return path, False
    parts = path.split("/")
    return path, "site-packages" not in parts and "dist-packages" not in parts


def _match_nodeid(title: str, cases: Mapping[str, TestCase], frames: tuple[Frame, ...]) -> str:
    """The node id a section titled ``Class.test[param]`` stands for: the summary's, or one
    made from the first frame's file."""
    if title in cases:
        return title
    name, bracket, params = title.partition("[")
    dotted = name.replace(".", "::") + bracket + params
    for nodeid in cases:
        if nodeid.endswith("::" + dotted):
            return nodeid
    test_file = next((f.path for f in frames if f.in_repo), "")
    return f"{test_file}::{dotted}" if test_file else dotted


def _e_lines(body: list[str]) -> str:
    lines = [line[1:].strip() for line in body if line.startswith("E ")]
    return "\n".join(lines[:40])
