"""The agent's own values and rules, without processes: events, budget, validation, replies."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import pytest

from codeagent.agent import events as ev
from codeagent.agent.candidate import Candidate
from codeagent.agent.context import failures_text
from codeagent.agent.expectations import Expectations
from codeagent.agent.guard import Guard
from codeagent.agent.guided import candidate_from_reply
from codeagent.agent.outcome import Budget
from codeagent.agent.search import Search
from codeagent.agent.suspects import Suspect
from codeagent.agent.validate import Validator
from codeagent.errors import WorkspaceError
from codeagent.tools.testresults import TestCase, TestReport
from codeagent.transport.stats import TurnStats

STATS = TurnStats(
    index=1, transport="websocket", response_id="resp_1", status="completed", generate=True,
    chained=True, retried=False, bytes_sent=900, bytes_received=4000, handshakes=0,
    full_resend_bytes=9000, time_to_first_event=0.01, time_to_first_token=0.2, total_time=0.5,
    input_tokens=1200, cached_tokens=1100, output_tokens=12,
)  # fmt: skip

EVENTS: list[ev.AgentEvent] = [
    ev.SessionStarted("r", "/w", "guided", "m", "embedded", "/py", "pytest", {"turns": 3}),
    ev.TestsRun("initial", 5, 1, 0, 0.4, ("t.py::a",), "AssertionError: x", False),
    ev.Localised((ev.SuspectLine("a.py", 3, 0.9, ("ochiai 0.9",)),), 0.01),
    ev.ContextBuilt(120, 4, ("a.py:f",)),
    ev.TurnStarted(1, "propose"),
    ev.ModelText(1, "return a + b"),
    ev.ModelDelta(1, "return "),
    ev.UserInput("look at mean() first"),
    ev.TurnFinished(STATS),
    ev.ToolCalled("read_file", '{"path": "a.py"}', True, "1 def f"),
    ev.CandidateProposed(1, "binary_operator", "a.py", 3, "line 3: `-` -> `+`", "--- a/a.py\n"),
    ev.CandidateTested(1, "fixed", "6 passed", 0.05),
    ev.FixFound(1, "line 3", "--- a/a.py\n"),
    ev.Note("warning", "careful"),
    ev.Finished("fixed", 0, "fixed: x", "diff", 3, 9.5, 12, 2000, 20000, 3000, 2500, 40),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_every_event_survives_json_lines(event: ev.AgentEvent) -> None:
    line = json.dumps(ev.event_to_json(event))
    back = ev.event_from_json(json.loads(line))
    assert back == event
    assert json.loads(line)["event"] == event.kind
    assert json.loads(line)["schema"] == ev.SCHEMA


def test_every_event_kind_is_covered_and_bad_lines_are_refused() -> None:
    assert {e.kind for e in EVENTS} == set(ev._KINDS)
    with pytest.raises(ValueError, match="unknown event"):
        ev.event_from_json({"event": "nope"})
    with pytest.raises(ValueError, match="malformed"):
        ev.event_from_json({"event": "note", "level": "info"})
    assert all(f.name != "kind" for f in fields(ev.Note))


def test_budget_says_what_ran_out() -> None:
    budget = Budget(turns=3, seconds=10, tokens=100)
    assert budget.exceeded(turns=2, seconds=9.9, tokens=99) is None
    assert budget.exceeded(turns=3, seconds=0, tokens=0) == "3 of 3 turns"
    assert budget.exceeded(turns=0, seconds=10.5, tokens=0) == "10 of 10 seconds"
    assert budget.exceeded(turns=0, seconds=0, tokens=100) == "100 of 100 tokens"
    assert Budget(0, 0, 0).exceeded(turns=10**6, seconds=10**6, tokens=10**9) is None


# --- validation against a fake work copy and a fake test runner ---------------------------


class FakeFiles:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = dict(files)
        self.writes = 0

    @property
    def root(self) -> Path:
        return Path("/nowhere")

    def read(self, rel: str) -> str:
        if rel not in self.files:
            raise WorkspaceError(f"{rel}: no such file")
        return self.files[rel]

    def write(self, rel: str, text: str) -> None:
        if rel.startswith(".."):
            raise WorkspaceError(f"{rel}: outside the work copy")
        self.writes += 1
        self.files[rel] = text

    def delete(self, rel: str) -> None:
        del self.files[rel]

    def diff(self) -> str:
        return ""

    def settle(self) -> tuple[str, ...]:
        return ()


class FakeTests:
    """Each test is a predicate over the files; a run reports them all or the selected."""

    def __init__(self, files: FakeFiles, tests: dict[str, Callable[[dict[str, str]], bool]]):
        self.files = files
        self.tests = tests
        self.runs: list[tuple[str, ...] | None] = []

    def run(
        self,
        select: Sequence[str] | None = None,
        *,
        coverage: bool = False,
        exitfirst: bool = False,
        timeout: float | None = None,
    ) -> TestReport:
        self.runs.append(tuple(select) if select is not None else None)
        names = list(select) if select is not None else list(self.tests)
        cases = tuple(
            TestCase(n, "passed" if self.tests[n](self.files.files) else "failed",
                     message="" if self.tests[n](self.files.files) else f"{n} failed")
            for n in names
        )  # fmt: skip
        code = 0 if all(c.outcome == "passed" for c in cases) else 1
        return TestReport(exit_code=code, cases=cases, finished=True, end_status=code,
                          collected=len(cases))  # fmt: skip


def validator_of(files: FakeFiles, tests: FakeTests, targets: list[str]) -> Validator:
    """A validator whose expectations come from a first run of the fake suite."""
    baseline = tests.run()
    tests.runs.clear()
    expectations = Expectations.from_baseline(baseline, targets)
    return Validator(files, tests, expectations, Guard(files.root))


def bench(files: dict[str, str]) -> tuple[FakeFiles, FakeTests, Validator]:
    fake = FakeFiles(files)
    tests = FakeTests(
        fake,
        {
            "t.py::add": lambda f: "a + b" in f["m.py"],
            "t.py::sub": lambda f: "a - b" in f["m.py"] or "return a - b" in f.get("n.py", ""),
            "t.py::other": lambda f: "def add" in f["m.py"],
        },
    )
    return fake, tests, validator_of(fake, tests, ["t.py::add"])


ORIGINAL = "def add(a, b):\n    return a * b\n\ndef sub(a, b):\n    return a - b\n"


def cand(new: str, path: str = "m.py") -> Candidate:
    return Candidate(path, new, 2, "test", "edit")


def test_a_fix_passes_targets_then_the_suite_and_the_file_is_restored() -> None:
    files, tests, validator = bench({"m.py": ORIGINAL})
    verdict = validator.check(cand(ORIGINAL.replace("a * b", "a + b")))
    assert verdict.outcome == "fixed"
    assert tests.runs == [("t.py::add",), None]  # the targets first, then everything
    assert files.files["m.py"] == ORIGINAL
    kept = validator.check(cand(ORIGINAL.replace("a * b", "a + b")), keep=True)
    assert kept.green
    assert "a + b" in files.files["m.py"]


def test_failing_regressed_rejected() -> None:
    files, tests, validator = bench({"m.py": ORIGINAL, "test_m.py": "tests"})
    failing = validator.check(cand(ORIGINAL.replace("a * b", "a / b")))
    assert (failing.outcome, failing.detail) == ("failing", "t.py::add failed")
    assert tests.runs == [("t.py::add",)]  # the suite never ran
    broken = ORIGINAL.replace("a * b", "a + b").replace("a - b", "a ^ b")
    assert validator.check(cand(broken)).outcome == "regressed"
    assert "t.py::sub" in validator.check(cand(broken)).detail
    assert validator.check(cand(ORIGINAL)).outcome == "rejected"  # changes nothing
    edit_test = validator.check(cand("x", path="test_m.py"))
    assert edit_test.outcome == "rejected"
    assert edit_test.detail == "test_m.py is a test file (--allow-test-edits to permit)"
    assert validator.check(cand("x", path="../escape.py")).outcome == "rejected"
    assert files.files["m.py"] == ORIGINAL
    assert files.files["test_m.py"] == "tests"


def test_deferred_restores_put_a_file_back_before_a_candidate_in_another_file_runs() -> None:
    """Within ``deferred`` a tried file is restored late; but a candidate in another file must
    never be judged with the previous candidate still in place (it made a correct flush look
    wrong in a real run, because the model's edit of another module lingered)."""
    helper = "def helper():\n    return 1\n"
    files, tests, validator = bench({"m.py": ORIGINAL, "n.py": helper})
    with validator.deferred():
        broken = validator.check(cand(ORIGINAL.replace("def add", "def plus")))
        assert broken.outcome == "failing"
        seen: list[str] = []
        tests.tests["t.py::add"] = lambda f: not seen.append(f["m.py"]) and "a + b" in f["n.py"]
        validator.check(cand("def sub(a, b):\n    return a + b\n", path="n.py"))
        assert seen
        assert all(text == ORIGINAL for text in seen)
    assert files.files == {"m.py": ORIGINAL, "n.py": helper}


def test_an_edit_that_fixes_some_targets_and_breaks_nothing_is_an_improvement() -> None:
    files, tests, _ = bench({"m.py": ORIGINAL.replace("a - b", "a % b")})
    validator = validator_of(files, tests, ["t.py::add", "t.py::sub"])
    verdict = validator.check(cand(files.files["m.py"].replace("a % b", "a - b")), keep=True)
    assert verdict.outcome == "improved"
    assert verdict.passing_targets == ("t.py::sub",)
    assert "a - b" in files.files["m.py"]  # kept


# --- the model's reply as a candidate ------------------------------------------------------

SOURCE = "def mean(values):\n    total = sum(values)\n    return total / (len(values) - 1)\n"
SUSPECT = Suspect("stats.py", 3, 1.0)


@pytest.mark.parametrize(
    "reply",
    [
        "return total / len(values)",
        "```python\n    return total / len(values)\n```",
        "```\nreturn total / len(values)\n```\nThis divides by the count.",
        "The corrected line is:\n\nreturn total / len(values)\n\nThis is because",
        "return total / (len(values) - 1)\nreturn total / len(values)",
    ],
)
def test_a_reply_becomes_the_suspect_line_replaced_with_its_indentation(reply: str) -> None:
    found = candidate_from_reply(reply, SUSPECT, SOURCE)
    assert found is not None
    assert found.new_source == SOURCE.replace("(len(values) - 1)", "len(values)")
    assert (found.operator, found.line) == ("model", 3)


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "return total / (len(values) - 1)",
        "return total / (",
        "I am not sure.",
        # the code comes after the lines that are tried
        "Here is\nthe fix\nas asked:\nsee below\nreturn total / len(values)",
    ],
)
def test_useless_replies_give_no_candidate(reply: str) -> None:
    assert candidate_from_reply(reply, SUSPECT, SOURCE) is None


# --- the search over improvements -----------------------------------------------------------


def test_a_partial_fix_opens_a_branch_and_does_not_hide_the_right_fix() -> None:
    """The wrong occurrence of the right change fixes one target of two: the search keeps it
    as a branch and goes on; the right one, later in the batch, fixes both."""
    source = "w = a.x / b.x + a.y / b.x\n"
    files = FakeFiles({"m.py": source})
    tests = FakeTests(
        files,
        {
            "t::one": lambda f: "a.y / b.y" in f["m.py"] or "a.x / b.y" in f["m.py"],
            "t::two": lambda f: "a.y / b.y" in f["m.py"],
            "t::keep": lambda f: "w =" in f["m.py"],
        },
    )
    validator = validator_of(files, tests, ["t::one", "t::two"])
    wrong = Candidate("m.py", "w = a.x / b.y + a.y / b.x\n", 1, "attribute", "first x -> y")
    right = Candidate("m.py", "w = a.x / b.x + a.y / b.y\n", 1, "attribute", "second x -> y")
    search = Search(files, validator, {"m.py": source}, lambda sources, tried: [wrong, right])
    branch = search.next_branch()
    assert branch is not None
    results, wins = search.validate(branch, search.batch(branch, 10), validator.check, lambda: None)
    assert [v.outcome for _, v in results] == ["improved", "fixed"]
    assert [w.candidate for w in wins] == [right]
    assert files.files["m.py"] == source  # back to the original program


def test_a_fix_of_two_edits_is_found_one_edit_at_a_time() -> None:
    source = "a = 1\nb = 1\n"
    files = FakeFiles({"m.py": source})
    tests = FakeTests(
        files,
        {
            "t::a": lambda f: "a = 2" in f["m.py"],
            "t::b": lambda f: "b = 2" in f["m.py"],
        },
    )
    validator = validator_of(files, tests, ["t::a", "t::b"])

    def make(sources: Mapping[str, str], tried: set[tuple[str, str]]) -> list[Candidate]:
        text = sources["m.py"]
        out = [
            Candidate("m.py", text.replace(f"{n} = 1", f"{n} = 2"), 1, "literal", f"{n} = 2")
            for n in "ab"
            if f"{n} = 1" in text
        ]
        return [c for c in out if ("m.py", c.new_source) not in tried]

    search = Search(files, validator, {"m.py": source}, make)
    found = []
    for _ in range(4):
        branch = search.next_branch()
        if branch is None:
            break
        _, wins = search.validate(branch, search.batch(branch, 1), validator.check, lambda: None)
        found += wins
        if wins:
            break
    assert len(found) == 1
    assert found[0].changes == {"m.py": "a = 2\nb = 2\n"}
    assert found[0].description in ("a = 2; b = 2", "b = 2; a = 2")
    assert files.files["m.py"] == source


def test_a_candidate_that_makes_exit_swallow_exceptions_is_rejected() -> None:
    source = "class Bar:\n    def __exit__(self, *exc):\n        return False\n"
    _, tests, validator = bench({"m.py": ORIGINAL, "bar.py": source})
    swallow = Candidate("bar.py", source.replace("return False", "return True"), 3, "x", "x")
    verdict = validator.check(swallow)
    assert verdict.outcome == "rejected"
    assert "swallow" in verdict.detail
    assert tests.runs == []
    harmless = Candidate("bar.py", source.replace("return False", "return None"), 3, "x", "x")
    assert validator.check(harmless).outcome != "rejected"


def test_the_model_hears_that_a_run_timed_out_or_never_ran() -> None:
    """A run with no failing test is not "nothing failed" when it timed out or never ran."""
    hung = TestReport(exit_code=-9, output="", duration=120.2, timed_out=True)
    assert failures_text(hung).startswith("The test run timed out after 120 s")
    broken = TestReport(exit_code=4, output="ERROR: usage\nno such option: --bogus\n")
    assert failures_text(broken) == (
        "The tests did not run (exit status 4):\nERROR: usage\nno such option: --bogus"
    )
    failing = TestReport(exit_code=1, cases=(TestCase("t.py::a", "failed", message="boom"),))
    assert failures_text(failing).startswith("t.py::a\n")
