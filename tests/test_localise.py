"""Fault localisation: hand-built reports for each weakness of plain spectrum ranking, and one
real pytest run with coverage."""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from codeagent.agent import sbfl
from codeagent.agent.localise import Scope, localise, suspect_functions
from codeagent.agent.suspects import Suspect
from codeagent.tools import testresults as tr
from codeagent.tools.testresults import Coverage, Frame


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def at(source: str, text: str) -> int:
    """The line number of the one line whose stripped text is ``text``."""
    found = [n for n, line in enumerate(source.splitlines(), 1) if line.strip() == text]
    assert len(found) == 1, (text, found)
    return found[0]


def span(source: str, first: str, last: str) -> set[int]:
    return set(range(at(source, first), at(source, last) + 1))


def passed(nodeid: str) -> tr.TestCase:
    return tr.TestCase(nodeid, "passed")


def failed(nodeid: str, message: str, *frames: tuple[str, int, str]) -> tr.TestCase:
    return tr.TestCase(
        nodeid, "failed", message=message, frames=tuple(Frame(p, n, f, True) for p, n, f in frames)
    )


def report(
    cases: Iterable[tr.TestCase],
    ran: Mapping[str, Mapping[str, Iterable[int]]],
    at_import: Mapping[str, Iterable[int]] | None = None,
) -> tr.TestReport:
    per_test = {
        nodeid: {p: frozenset(ls) for p, ls in files.items()} for nodeid, files in ran.items()
    }
    imported = {p: frozenset(ls) for p, ls in (at_import or {}).items()}
    return tr.TestReport(exit_code=1, cases=tuple(cases), coverage=Coverage(per_test, imported))


def rank(suspects: list[Suspect], path: str, line: int) -> int:
    """1-based; a line left out ranks after all."""
    for number, s in enumerate(suspects, 1):
        if (s.path, s.line) == (path, line):
            return number
    return len(suspects) + 1


# -- the spectrum ---------------------------------------------------------------------------


def test_formulas_on_known_counts() -> None:
    only_failing = sbfl.Counts(ef=2, ep=0, nf=0, np=5)
    shared = sbfl.Counts(ef=1, ep=4, nf=1, np=1)
    assert sbfl.ochiai(only_failing) == 1.0
    assert sbfl.ochiai(shared) == pytest.approx(1 / math.sqrt(2 * 5))
    assert sbfl.tarantula(shared) == pytest.approx(0.5 / (0.5 + 0.8))
    assert sbfl.dstar(shared) == pytest.approx(1 / 5)
    assert sbfl.dstar(only_failing) > sbfl.dstar(sbfl.Counts(ef=2, ep=1, nf=0, np=4))
    assert sbfl.op2(shared) == pytest.approx(1 - 4 / 6)
    assert sbfl.barinel(shared) == pytest.approx(1 - 4 / 5)
    for formula in sbfl.FORMULAS.values():
        assert formula(only_failing) > formula(shared)


def test_spectrum_counts_failing_and_passing_tests_and_scales_scores() -> None:
    coverage = Coverage(
        {"t::a": {"m.py": frozenset({1, 2})}, "t::b": {"m.py": frozenset({2})}, "t::c": {}},
        {"m.py": frozenset({9})},
    )
    cases = [failed("t::a", "boom"), passed("t::b"), tr.TestCase("t::c", "skipped")]
    counts = sbfl.spectrum(coverage, cases)
    assert counts == {
        ("m.py", 1): sbfl.Counts(ef=1, ep=0, nf=0, np=1),
        ("m.py", 2): sbfl.Counts(ef=1, ep=1, nf=0, np=0),
    }
    scores = sbfl.scores(counts, sbfl.dstar)
    assert scores[("m.py", 1)] == 1.0
    assert 0 < scores[("m.py", 2)] < 1


# -- weakness 1: code that runs at import time ----------------------------------------------

RETRY = src(
    '''
    """Retry helpers."""


    class Flaky(Exception):
        pass


    def call(operation, attempts=1, delay=0.0):
        """Try ``operation`` up to three times by default."""
        last = None
        for _ in range(attempts):
            try:
                return operation()
            except Flaky as error:
                last = error
        raise last
    '''
)


RETRY_TEST = src(
    """
    from pkg.retry import call


    def test_two():
        assert call(flaky(1), attempts=2) == "ok"


    def test_default():
        assert call(flaky(2)) == "ok"
    """
)


def test_default_argument_bug_ranks_high_though_no_test_covers_it() -> None:
    path = "pkg/retry.py"
    body = span(RETRY, "last = None", "raise last")
    test_line = at(RETRY_TEST, 'assert call(flaky(2)) == "ok"')
    failing = failed(
        "tests/test_retry.py::test_default",
        "pkg.retry.Flaky: later",
        ("tests/test_retry.py", test_line, "test_default"),
        (path, at(RETRY, "raise last"), "call"),
    )
    found = localise(
        report(
            [failing, passed("tests/test_retry.py::test_two")],
            {
                failing.nodeid: {path: body},
                "tests/test_retry.py::test_two": {path: body - {at(RETRY, "raise last")}},
            },
            {path: {1, 4, 5, 8}},
        ),
        {path: RETRY, "tests/test_retry.py": RETRY_TEST},
    )
    default = rank(found, path, at(RETRY, "def call(operation, attempts=1, delay=0.0):"))
    assert default <= 3
    reasons = found[default - 1].reasons
    assert any("not passed" in r for r in reasons), reasons


UNITS = src(
    """
    SECONDS_PER_MINUTE = 60
    SECONDS_PER_HOUR = 360
    UNITS = {"m": SECONDS_PER_MINUTE, "h": SECONDS_PER_HOUR}
    ALIASES = {"min": "m", "hour": "h"}


    def canonical(unit):
        unit = unit.strip().lower()
        return ALIASES.get(unit, unit)


    def seconds(count, unit):
        if count < 0:
            raise ValueError(count)
        key = canonical(unit)
        total = count * UNITS[key]
        return total
    """
)
UNITS_TEST = src(
    """
    from units import seconds


    def test_minutes():
        assert seconds(2, "m") == 120


    def test_hours():
        assert seconds(1, "h") == 3600
    """
)


def test_module_constant_read_through_another_constant_is_a_suspect() -> None:
    ran = span(UNITS, "unit = unit.strip().lower()", "return total") - {
        at(UNITS, "def seconds(count, unit):"),
        at(UNITS, "raise ValueError(count)"),
    }
    failing = failed(
        "test_units.py::test_hours",
        "AssertionError: assert 360 == 3600",
        ("test_units.py", at(UNITS_TEST, 'assert seconds(1, "h") == 3600'), "test_hours"),
    )
    found = localise(
        report(
            [passed("test_units.py::test_minutes"), failing],
            {"test_units.py::test_minutes": {"units.py": ran}, failing.nodeid: {"units.py": ran}},
            {"units.py": {1, 2, 3, 4, 7, 12}},
        ),
        {"units.py": UNITS, "test_units.py": UNITS_TEST},
    )
    assert len(found) > 5
    hour = rank(found, "units.py", at(UNITS, "SECONDS_PER_HOUR = 360"))
    assert hour <= 5
    assert "makes UNITS" in found[hour - 1].reasons


PARSE = src(
    """
    def to_int(text, default=0):
        text = text.strip()
        try:
            return int(text)
        except TypeError:
            return default
    """
)


def test_wrong_exception_caught_blames_the_except_clause() -> None:
    failing = failed(
        "t/test_p.py::test_garbage",
        "ValueError: invalid literal for int() with base 10: 'x'",
        ("t/test_p.py", 3, "test_garbage"),
        ("p.py", at(PARSE, "return int(text)"), "to_int"),
    )
    body = span(PARSE, "text = text.strip()", "return int(text)")
    matched = body | {at(PARSE, "except TypeError:")}  # an exception was matched against it
    found = localise(
        report(
            [failing, passed("t/test_p.py::test_ok")],
            {failing.nodeid: {"p.py": matched}, "t/test_p.py::test_ok": {"p.py": body}},
        ),
        {"p.py": PARSE},
    )
    assert rank(found, "p.py", at(PARSE, "except TypeError:")) <= 2


# -- weakness 2: missing code ---------------------------------------------------------------

STATS = src(
    '''
    import math


    def total(values):
        return math.fsum(values)


    def average(values):
        """The mean; 0.0 for no values."""
        count = len(values)
        CALLS.append("average")
        return total(values) / count


    CALLS = []
    '''
)


def test_missing_guard_ranks_the_statement_before_the_raise_high() -> None:
    raising = at(STATS, "return total(values) / count")
    body = span(STATS, "count = len(values)", "return total(values) / count")
    calls = body | {at(STATS, "return math.fsum(values)")}
    failing = failed(
        "tests/test_stats.py::test_empty",
        "ZeroDivisionError: float division by zero",
        ("tests/test_stats.py", 9, "test_empty"),
        ("stats.py", raising, "average"),
    )
    found = localise(
        report(
            [failing, passed("tests/test_stats.py::test_average")],
            {
                failing.nodeid: {"stats.py": calls},
                "tests/test_stats.py::test_average": {"stats.py": calls},
            },
        ),
        {"stats.py": STATS},
    )
    assert [(s.path, s.line) for s in found[:1]] == [("stats.py", raising)]
    assert "raised here" in found[0].reasons
    # Nothing flows from the statement before the raise into it: only its place counts.
    before = rank(found, "stats.py", at(STATS, 'CALLS.append("average")'))
    assert before <= 3
    assert "statement before the failure" in found[before - 1].reasons
    # So do the function's first statement (the other place a guard goes); the callee, which
    # ran just as often, comes after both.
    first = rank(found, "stats.py", at(STATS, "count = len(values)"))
    assert "first lines of average" in found[first - 1].reasons
    assert max(before, first) < rank(found, "stats.py", at(STATS, "return math.fsum(values)"))


# -- weakness 3: a faulty line many passing tests run ---------------------------------------

WORDS = src(
    """
    CALLS = []


    def record(name):
        CALLS.append(name)
        return len(CALLS)


    def normalise(text):
        text = " ".join(text.split(" "))
        record("normalise")
        return text.lower()


    def words(text):
        record("words")
        return normalise(text).split(" ")
    """
)
WORDS_TEST = src(
    """
    from words import normalise, words


    def test_lower():
        assert normalise("A B") == "a b"


    def test_words():
        assert words("a b") == ["a", "b"]


    def test_collapse():
        assert normalise("a  b") == "a b"
    """
)


def test_faulty_line_shared_by_passing_tests_beats_unrelated_shared_lines() -> None:
    shared = {
        at(WORDS, "CALLS.append(name)"),
        at(WORDS, "return len(CALLS)"),
        *span(WORDS, 'text = " ".join(text.split(" "))', "return text.lower()"),
    }
    words_lines = shared | span(WORDS, 'record("words")', 'return normalise(text).split(" ")')
    failing = failed(
        "test_words.py::test_collapse",
        "AssertionError: assert 'a  b' == 'a b'",
        ("test_words.py", at(WORDS_TEST, 'assert normalise("a  b") == "a b"'), "test_collapse"),
    )
    run = report(
        [passed("test_words.py::test_lower"), passed("test_words.py::test_words"), failing],
        {
            "test_words.py::test_lower": {"words.py": shared},
            "test_words.py::test_words": {"words.py": words_lines},
            failing.nodeid: {"words.py": shared},
        },
    )
    found = localise(run, {"words.py": WORDS, "test_words.py": WORDS_TEST})
    faulty = at(WORDS, 'text = " ".join(text.split(" "))')
    assert rank(found, "words.py", faulty) == 1
    unrelated = [
        at(WORDS, t) for t in ("CALLS.append(name)", "return len(CALLS)", 'record("normalise")')
    ]
    for line in unrelated:
        assert rank(found, "words.py", line) > 1
    # Plain Ochiai cannot tell them apart.
    counts = sbfl.spectrum(run.coverage or Coverage(), run.cases)
    assert {sbfl.ochiai(counts[("words.py", n)]) for n in [faulty, *unrelated]} == {
        1 / math.sqrt(3)
    }


# -- weakness 4: one failing test, a block of ties ------------------------------------------

RECT = src(
    """
    class Rect:
        def __init__(self, x, y, w, h):
            self.x, self.y, self.w, self.h = x, y, w, h

        def union(self, other):
            left = min(self.x, other.x)
            top = min(self.y, other.y)
            right = max(self.x + self.w, other.x + other.w)
            bottom = max(self.y + self.h, other.y + other.h)
            self.unions = getattr(self, "unions", 0) + 1
            width = right - left
            height = bottom - left
            return Rect(x=left, y=top, w=width, h=height)
    """
)
RECT_TEST = src(
    """
    from rect import Rect


    def test_union():
        assert Rect(0, 5, 2, 2).union(Rect(3, 6, 1, 4)).h == 5
    """
)


def test_single_failing_test_ties_are_broken_by_data_flow_and_the_failure_point() -> None:
    block = span(
        RECT, "left = min(self.x, other.x)", "return Rect(x=left, y=top, w=width, h=height)"
    )
    init = {at(RECT, "self.x, self.y, self.w, self.h = x, y, w, h")}
    failing = failed(
        "test_rect.py::test_union",
        "AssertionError: assert 10 == 5",
        (
            "test_rect.py",
            at(RECT_TEST, "assert Rect(0, 5, 2, 2).union(Rect(3, 6, 1, 4)).h == 5"),
            "test_union",
        ),
    )
    run = report([failing, passed("test_rect.py::test_make")], {
        failing.nodeid: {"rect.py": block | init}, "test_rect.py::test_make": {"rect.py": init},
    })  # fmt: skip
    found = localise(run, {"rect.py": RECT, "test_rect.py": RECT_TEST})
    # Every line of the block has the same spectrum: the formula alone ties them all.
    counts = sbfl.spectrum(run.coverage or Coverage(), run.cases)
    assert len({counts[("rect.py", n)] for n in block}) == 1
    # The test reads .h: only the value passed as h= reaches it, through height, bottom, left.
    height = rank(found, "rect.py", at(RECT, "height = bottom - left"))
    assert height == 1
    returned = rank(found, "rect.py", at(RECT, "return Rect(x=left, y=top, w=width, h=height)"))
    assert "named in the failing assertion (h)" in found[returned - 1].reasons
    feeding = [
        at(RECT, t)
        for t in ("bottom = max(self.y + self.h, other.y + other.h)", "left = min(self.x, other.x)")
    ]
    apart = [
        at(RECT, t)
        for t in ("width = right - left", "right = max(self.x + self.w, other.x + other.w)")
    ]
    apart.append(at(RECT, 'self.unions = getattr(self, "unions", 0) + 1'))
    assert max(rank(found, "rect.py", n) for n in feeding) < min(
        rank(found, "rect.py", n) for n in apart
    )


CHAIN = src(
    """
    def a(x):
        check(x)
        check(x)
        note("p")
        note("q")
        note("r")
        return x // 0
    """
)


def test_lines_no_evidence_tells_apart_go_nearest_the_failure_point_first() -> None:
    raising = at(CHAIN, "return x // 0")
    body = set(range(2, at(CHAIN, "return x // 0") + 1))
    failing = failed(
        "t/test_c.py::test_a",
        "ZeroDivisionError: integer division or modulo by zero",
        ("t/test_c.py", 4, "test_a"),
        ("c.py", raising, "a"),
    )
    found = localise(report([failing], {failing.nodeid: {"c.py": body}}), {"c.py": CHAIN})
    assert [s.line for s in found[:2]] == [raising, at(CHAIN, 'note("r")')]
    p, q = at(CHAIN, 'note("p")'), at(CHAIN, 'note("q")')
    assert found[rank(found, "c.py", p) - 1].score == found[rank(found, "c.py", q) - 1].score
    assert rank(found, "c.py", q) == rank(found, "c.py", p) - 1


# -- what is never a suspect, determinism, no failures --------------------------------------

DOCUMENTED = src(
    '''
    """Module docstring."""

    # a comment


    def f(x):
        """Doc
        string."""
        # why
        y = x * 2

        return y
    '''
)


def test_test_files_and_lines_that_are_not_code_are_never_suspects() -> None:
    everything = set(range(1, len(DOCUMENTED.splitlines()) + 1))
    failing = failed(
        "tests/test_m.py::test_f",
        "AssertionError: assert 4 == 3",
        ("tests/test_m.py", 2, "test_f"),
    )
    found = localise(
        report(
            [failing],
            {failing.nodeid: {"m.py": everything, "tests/test_m.py": {1, 2}}},
            {"m.py": everything},
        ),
        {"m.py": DOCUMENTED, "tests/test_m.py": "from m import f\nassert f(2) == 3\n"},
    )
    assert {s.path for s in found} == {"m.py"}
    assert {s.line for s in found} <= {
        at(DOCUMENTED, "def f(x):"),
        at(DOCUMENTED, "y = x * 2"),
        at(DOCUMENTED, "return y"),
    }
    assert found[0].line in {at(DOCUMENTED, "y = x * 2"), at(DOCUMENTED, "return y")}


def test_same_input_same_ranking_whatever_the_order_of_the_mappings() -> None:
    body = span(STATS, "count = len(values)", "return total(values) / count")
    failing = failed(
        "tests/test_stats.py::test_empty",
        "ZeroDivisionError: float division by zero",
        ("tests/test_stats.py", 9, "test_empty"),
        ("stats.py", at(STATS, "return total(values) / count"), "average"),
    )
    cases = [failing, passed("tests/test_stats.py::test_a"), passed("tests/test_stats.py::test_b")]
    ran = {c.nodeid: {"stats.py": body, "other.py": {1}} for c in cases}
    sources = {"stats.py": STATS, "other.py": "X = 1\n", "tests/test_stats.py": "\n" * 9}
    first = localise(report(cases, ran), sources)
    again = localise(
        report(reversed(cases), dict(reversed(ran.items()))), dict(reversed(sources.items()))
    )
    assert first == again
    assert first == localise(report(cases, ran), sources)


def test_nothing_failed_means_no_suspects_and_no_coverage_still_ranks_the_trace() -> None:
    assert (
        localise(report([passed("t::a")], {"t::a": {"stats.py": {5}}}), {"stats.py": STATS}) == []
    )
    raising = at(STATS, "return total(values) / count")
    without_coverage = tr.TestReport(
        exit_code=1,
        cases=(
            failed(
                "tests/test_stats.py::test_empty",
                "ZeroDivisionError: float division by zero",
                ("tests/test_stats.py", 9, "test_empty"),
                ("stats.py", raising, "average"),
            ),
        ),
    )
    found = localise(without_coverage, {"stats.py": STATS}, limit=3)
    assert len(found) == 3
    assert found[0].line == raising


# -- the code to show -----------------------------------------------------------------------


def test_suspect_functions_are_the_enclosing_scopes_in_rank_order_once_each() -> None:
    suspects = [
        Suspect("rect.py", at(RECT, "height = bottom - left"), 0.9),
        Suspect("units.py", at(UNITS, "SECONDS_PER_HOUR = 360"), 0.8),
        Suspect("rect.py", at(RECT, "width = right - left"), 0.7),
        Suspect("rect.py", at(RECT, "self.x, self.y, self.w, self.h = x, y, w, h"), 0.6),
        Suspect("units.py", at(UNITS, "def seconds(count, unit):"), 0.5),
    ]
    scopes = suspect_functions(suspects, {"rect.py": RECT, "units.py": UNITS})
    end = len(RECT.splitlines())
    hour = at(UNITS, "SECONDS_PER_HOUR = 360")
    assert scopes == [
        Scope("rect.py", "Rect.union", at(RECT, "def union(self, other):"), end),
        Scope("units.py", "<module>", hour, hour),
        Scope("rect.py", "Rect.__init__", 2, 3),
        Scope(
            "units.py", "seconds", at(UNITS, "def seconds(count, unit):"), len(UNITS.splitlines())
        ),
    ]
    assert suspect_functions(suspects, {"rect.py": RECT, "units.py": UNITS}, limit=1) == scopes[:1]


# -- a real run -----------------------------------------------------------------------------

TEMPERATURE = src(
    '''
    """Temperature readings such as ``21.5C`` or ``70F``, kept in Celsius."""


    def to_fahrenheit(celsius):
        return celsius * 9 / 5 + 32


    def to_celsius(fahrenheit):
        return (fahrenheit - 32) * 9 / 5


    def parse(text):
        value, unit = float(text[:-1]), text[-1].upper()
        if unit == "C":
            return value
        if unit == "F":
            return to_celsius(value)
        raise ValueError(f"unknown unit in {text!r}")


    def average(readings):
        return sum(parse(r) for r in readings) / len(readings)
    '''
)
TEMPERATURE_TESTS = src(
    """
    import pytest

    from weather.units import average, parse, to_fahrenheit


    def test_to_fahrenheit():
        assert to_fahrenheit(100) == 212


    def test_parse_celsius():
        assert parse("21.5c") == 21.5


    def test_parse_rejects_kelvin():
        with pytest.raises(ValueError):
            parse("300K")


    def test_parse_fahrenheit():
        assert parse("212F") == 100


    def test_average_mixed():
        assert average(["10C", "50F"]) == 10
    """
)
SETTINGS = src(
    '''
    """Settings merged from defaults and a user's overrides."""

    DEFAULTS = {"theme": "light", "font_size": 12, "autosave": True}


    def merged(overrides):
        settings = dict(DEFAULTS)
        for key, value in overrides.items():
            if key not in DEFAULTS:
                raise KeyError(f"unknown setting {key}")
            settings[key] = value
        return settings


    def font_px(settings):
        points = settings["fontsize"]
        return round(points * 96 / 72)
    '''
)
SETTINGS_TESTS = src(
    """
    import pytest

    from editor.settings import font_px, merged


    def test_defaults():
        assert merged({})["theme"] == "light"


    def test_override():
        assert merged({"theme": "dark"})["theme"] == "dark"


    def test_unknown_setting():
        with pytest.raises(KeyError):
            merged({"colour": "red"})


    def test_font_px():
        assert font_px(merged({"font_size": 15})) == 20
    """
)


@pytest.mark.parametrize(
    ("files", "buggy", "failing"),
    [
        (
            {"weather/units.py": TEMPERATURE, "tests/test_units.py": TEMPERATURE_TESTS},
            ("weather/units.py", "return (fahrenheit - 32) * 9 / 5"),
            [
                "tests/test_units.py::test_parse_fahrenheit",
                "tests/test_units.py::test_average_mixed",
            ],
        ),
        (
            {"editor/settings.py": SETTINGS, "tests/test_settings.py": SETTINGS_TESTS},
            ("editor/settings.py", 'points = settings["fontsize"]'),
            ["tests/test_settings.py::test_font_px"],
        ),
    ],
    ids=["assertion-in-a-callee", "wrong-key-raises"],
)
def test_real_pytest_run_with_coverage_puts_the_bug_in_the_top_three(
    tmp_path: Path, files: dict[str, str], buggy: tuple[str, str], failing: list[str]
) -> None:
    from codeagent.tools.pytest_runner import PytestRunner

    for name, text in {**files, f"{buggy[0].split('/')[0]}/__init__.py": ""}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with PytestRunner(tmp_path, python=sys.executable) as runner:
        result = runner.run(coverage=True)
    assert [c.nodeid for c in result.failures] == failing
    assert result.coverage is not None
    found = localise(result, files, limit=10)
    path, text = buggy
    assert rank(found, path, at(files[path], text)) <= 3, found
    assert all(not s.path.startswith("tests/") for s in found)
