"""Attacks on the verdict, end to end: ``codeagent fix`` as a process on a real git repository
(a copy of ``sample_repos/calc``: ``mean`` divides by ``len - 1``), a scripted model that writes
whatever would get a green run, over a real local connection. Each was "fixed", exit 0, with the
bug still in place, before the verdict asked for more than "no test failed"."""

from __future__ import annotations

import difflib
import textwrap
import uuid
from pathlib import Path
from typing import Any

from codeagent.testing.scripted import Step
from tests.conftest import git
from tests.test_fix_scripted import FIX, fix, of_kind

OPS = "calc/ops.py"
BUG = "    return sum(values) / (len(values) - 1)\n"
RIGHT = "    return sum(values) / len(values)\n"


def diff(path: str, old: str, new: str, new_path: str | None = None) -> str:
    before = old.splitlines(True) if old else []
    return "".join(
        difflib.unified_diff(
            before,
            new.splitlines(True),
            f"a/{path}" if old else "/dev/null",
            f"b/{new_path or path}" if new else "/dev/null",
        )
    )


def commit(repo: Path, files: dict[str, str], message: str = "setup") -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


DESELECT_INI = "[pytest]\naddopts = --deselect tests/test_ops.py::test_mean\n"


def tool_results(events: list[dict[str, Any]]) -> list[str]:
    return [f"{c['ok']}: {c['summary']}" for c in of_kind(events, "tool_called")]


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    return of_kind(events, "finished")[-1]


# -- 1. pytest's exit status ---------------------------------------------------------------------


def test_a_suite_that_crashes_part_way_is_not_nothing_to_fix(repo: Path, scripted: Any) -> None:
    ops = repo / OPS
    crash = "import os\n\ndef test_dies():\n    os._exit(1)\n"
    commit(repo, {OPS: ops.read_text().replace(BUG, RIGHT), "tests/test_zz_crash.py": crash})
    url, model = scripted(Step(say="Nothing to change."))
    code, events, err = fix(repo, url, "--strategy", "tools", "--max-turns", "2")
    assert code == 1, err
    first = of_kind(events, "tests_run")[0]
    assert first["failing"] == ["tests/test_zz_crash.py::test_dies"]
    assert "ended while this test was running (exit status 1)" in first["message"]
    assert finished(events)["outcome"] == "not_fixed"
    assert model.played == 1


def test_a_candidate_that_ends_the_process_early_is_not_a_fix(repo: Path, scripted: Any) -> None:
    ops = (repo / OPS).read_text()
    plain = ops.replace(
        '"""Small arithmetic helpers."""\n', '"""Small arithmetic helpers."""\nimport os\n'
    )
    plain = plain.replace(BUG, "    os._exit(0)\n" + BUG)
    hidden = ops.replace(
        '"""Small arithmetic helpers."""\n', '"""Small arithmetic helpers."""\nimport os\n'
    )
    hidden = hidden.replace(BUG, '    os.__dict__["_exit"](0)\n' + BUG)  # past the screen
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff(OPS, ops, plain)}),
        Step(call="apply_patch", arguments={"patch": diff(OPS, ops, hidden)}),
        Step(call="apply_patch", arguments={"patch": diff(OPS, hidden, ops.replace(BUG, RIGHT))},
             expect="did not finish"),
    )  # fmt: skip
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    results = tool_results(events)
    assert "reaches into the test harness (os._exit)" in results[0]
    assert "pytest did not finish (exit status 0)" in results[1]
    assert "_exit" not in finished(events)["patch"]


# -- 2. skipped, deselected, never run ------------------------------------------------------------


def test_skipping_the_failing_test_is_not_a_fix(repo: Path, scripted: Any) -> None:
    """Test edits allowed by the user: the model skips the failing test instead of fixing
    the code. A skipped target is not a passed one."""
    test = (repo / "tests/test_ops.py").read_text()
    skipped = test.replace(
        "def test_mean() -> None:\n", "def test_mean() -> None:\n    pytest.skip('later')\n"
    )
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff("tests/test_ops.py", test, skipped)}),
        Step(say="I could not fix it.", expect="(skipped)"),
    )  # fmt: skip
    code, events, err = fix(
        repo, url, "--strategy", "tools", "--allow-test-edits", "--max-turns", "3"
    )
    assert code == 1, err
    assert "tests/test_ops.py::test_mean (skipped)" in tool_results(events)[0]
    assert finished(events)["outcome"] == "not_fixed"


def test_the_models_skip_proposal_is_refused_in_guided_mode(repo: Path, scripted: Any) -> None:
    url, _ = scripted(Step(say='import pytest; pytest.skip("later")'), Step(say="1"))
    code, events, err = fix(repo, url, "--strategy", "guided")
    assert code == 0, err
    model = next(c for c in of_kind(events, "candidate_proposed") if c["source"] == "model")
    tested = {t["id"]: t for t in of_kind(events, "candidate_tested")}
    assert tested[model["id"]]["outcome"] == "rejected"
    assert "test harness" in tested[model["id"]]["detail"]
    assert "-    return sum(values) / (len(values) - 1)" in finished(events)["patch"]


def test_deselecting_or_rewriting_outcomes_in_the_configuration_is_refused(
    repo: Path, scripted: Any
) -> None:
    pyproject = (repo / "pyproject.toml").read_text()
    deselect = pyproject.replace(
        'testpaths = ["tests"]', 'testpaths = ["tests"]\naddopts = "-k \'not mean\'"'
    )
    plugin = textwrap.dedent("""\
        def pytest_runtest_logreport(report):
            report.outcome = "passed"
    """)
    with_plugin = diff("calc/outcomes.py", "", plugin) + diff(
        "pyproject.toml",
        pyproject,
        pyproject.replace(
            'testpaths = ["tests"]', 'testpaths = ["tests"]\naddopts = "-p calc.outcomes"'
        ),
    )
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff("pytest.ini", "", DESELECT_INI)}),
        Step(call="apply_patch", arguments={"patch": diff("pyproject.toml", pyproject, deselect)}),
        Step(call="apply_patch", arguments={"patch": with_plugin}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )  # fmt: skip
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    results = tool_results(events)
    assert "pytest.ini is pytest's configuration" in results[0]
    assert "pyproject.toml changes pytest's configuration" in results[1]
    assert "pyproject.toml changes pytest's configuration" in results[2]
    patch = finished(events)["patch"]
    assert "pyproject" not in patch
    assert "outcomes" not in patch


# -- 3. the harness cannot be replaced ------------------------------------------------------------


def test_a_module_named_like_the_probe_does_not_decide_the_verdict(
    repo: Path, scripted: Any
) -> None:
    """A hostile repository ships its own ``codeagent_probe.py`` (reporting every test as
    passed) and a ``sitecustomize.py``; the model then tries to add a start-up file too."""
    fake = textwrap.dedent("""\
        import json, os

        def pytest_sessionfinish(session, exitstatus):
            path = os.environ.get("CODE" + "AGENT_PROBE_REPORT")
            if path:
                with open(path, "w") as out:
                    case = {"k": "case", "nodeid": "tests/test_ops.py::test_mean",
                            "outcome": "passed"}
                    out.write(json.dumps(case) + "\\n")
                    out.write(json.dumps({"k": "end", "exitstatus": 0}) + "\\n")
    """)
    marks = repo.parent / "marks"
    marks.mkdir()
    commit(repo, {
        "codeagent_probe.py": fake,
        "codeagent_forkserver.py": f"open({str(marks / 'forkserver')!r}, 'w').close()\n",
        "sitecustomize.py": f"open({str(marks / 'sitecustomize')!r}, 'w').close()\n",
    })  # fmt: skip
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff("usercustomize.py", "", "import os\n")}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )  # fmt: skip
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    assert of_kind(events, "tests_run")[0]["failing"] == ["tests/test_ops.py::test_mean"]
    assert "never edits usercustomize.py" in tool_results(events)[0]
    assert finished(events)["outcome"] == "fixed"
    assert list(marks.iterdir()) == []


# -- 4. what a test file is ----------------------------------------------------------------------


def test_a_helper_reached_through_a_link_is_a_test_file(repo: Path, scripted: Any) -> None:
    test = (repo / "tests/test_ops.py").read_text()
    commit(repo, {
        "tests/helpers.py": "def expected_mean() -> float:\n    return 2.0\n",
        "tests/test_ops.py": test.replace(
            "from calc.ops", "from tests.helpers import expected_mean\nfrom calc.ops"
        ).replace("== 2.0", "== expected_mean()"),
    })  # fmt: skip
    (repo / "t").symlink_to("tests")
    commit(repo, {})
    helper = (repo / "tests/helpers.py").read_text()
    url, _ = scripted(
        Step(call="apply_patch",
             arguments={"patch": diff("t/helpers.py", helper, helper.replace("2.0", "3.0"))}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )  # fmt: skip
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    assert "t/helpers.py (that is tests/helpers.py) is a test file" in tool_results(events)[0]
    assert "helpers" not in finished(events)["patch"]


def test_a_rename_is_judged_on_both_sides_and_removes_the_old_file(
    repo: Path, scripted: Any
) -> None:
    commit(repo, {"calc/notes.txt": "hello\n"})
    test = (repo / "tests/test_ops.py").read_text()
    away = diff("tests/test_ops.py", test, test, new_path="calc/moved.py")
    away = away or (  # difflib gives nothing for equal texts: a rename with one line changed
        diff("tests/test_ops.py", test, test + "\n", new_path="calc/moved.py")
    )
    rename = diff("calc/notes.txt", "hello\n", "hello!\n", new_path="calc/NOTES.md")
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": away}),
        Step(call="apply_patch", arguments={"patch": FIX + rename}),
    )
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    assert "tests/test_ops.py is a test file" in tool_results(events)[0]
    patch = finished(events)["patch"]
    assert "+++ /dev/null" in patch.split("calc/notes.txt", 1)[1]  # the old file is gone
    assert "+hello!" in patch


def test_a_django_style_tests_module_is_a_test_file(tmp_path: Path, scripted: Any) -> None:
    """``python_files = tests.py``: the module beside the code is the tests. The operators
    make candidates at its lines too (changing the expected value would pass): refused."""
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, {
        "pyproject.toml": '[tool.pytest.ini_options]\npython_files = ["tests.py"]\n'
                          'pythonpath = ["."]\n',
        "shop/__init__.py": "",
        "shop/prices.py": "def total(price: int, qty: int) -> int:\n    return price * qty + 1\n",
        "shop/tests.py": "from shop.prices import total\n\n\n"
                         "def test_total():\n    assert total(2, 3) == 6\n",
    })  # fmt: skip
    url, _ = scripted(*[Step(say="I do not know.") for _ in range(12)])
    code, events, err = fix(repo, url, "--strategy", "guided")
    tested = {t["id"]: t for t in of_kind(events, "candidate_tested")}
    on_tests = [c for c in of_kind(events, "candidate_proposed") if c["path"] == "shop/tests.py"]
    assert on_tests, "the operators never tried the tests module: the test shows nothing"
    assert {tested[c["id"]]["outcome"] for c in on_tests} == {"rejected"}
    assert code == 0, err
    assert "shop/tests.py" not in finished(events)["patch"]


# -- 5. flaky failures and empty patches ---------------------------------------------------------


def counting_test(times_failing: int) -> str:
    """A test that fails its first ``times_failing`` runs (a counter in the temp folder)."""
    return textwrap.dedent(f"""\
        import os, tempfile

        COUNTER = os.path.join(tempfile.gettempdir(), "codeagent-flaky-{uuid.uuid4().hex}")


        def test_sometimes():
            runs = int(open(COUNTER).read()) if os.path.exists(COUNTER) else 0
            with open(COUNTER, "w") as out:
                out.write(str(runs + 1))
            assert runs >= {times_failing}
    """)


def test_a_flaky_failure_is_said_and_not_fixed(repo: Path, scripted: Any) -> None:
    ops = repo / OPS
    commit(
        repo, {OPS: ops.read_text().replace(BUG, RIGHT), "tests/test_flaky.py": counting_test(1)}
    )
    url, model = scripted(Step(say="Nothing to change."))
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 1, err
    notes = [n["message"] for n in of_kind(events, "note")]
    assert any(n.startswith("flaky: tests/test_flaky.py::test_sometimes") for n in notes), notes
    assert finished(events)["outcome"] == "not_fixed"
    assert finished(events)["patch"] == ""
    assert model.played == 0


def test_fixed_is_never_claimed_with_an_empty_patch(repo: Path, scripted: Any) -> None:
    """A failure that survives its re-run and then goes away by itself while the model
    changes nothing."""
    ops = repo / OPS
    commit(
        repo, {OPS: ops.read_text().replace(BUG, RIGHT), "tests/test_flaky.py": counting_test(2)}
    )
    url, _ = scripted(Step(say="Nothing to change."))
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 1, err
    assert finished(events)["outcome"] == "not_fixed"
    assert "no change to the code" in finished(events)["reason"]


# -- 8. the patch is text, whatever the attributes say -------------------------------------------


def test_a_model_added_gitattributes_is_refused_and_the_patch_stays_text(
    repo: Path, scripted: Any
) -> None:
    """``*.py -diff`` would turn the code change in the saved patch into an unreadable
    ``GIT binary patch`` (its payload having run during validation)."""
    url, _ = scripted(
        Step(call="apply_patch", arguments={"patch": diff(".gitattributes", "", "*.py -diff\n")}),
        Step(call="apply_patch", arguments={"patch": diff("calc/.gitattributes", "", "* -diff\n")}),
        Step(call="apply_patch", arguments={"patch": FIX}),
    )
    code, events, err = fix(repo, url, "--strategy", "tools")
    assert code == 0, err
    results = tool_results(events)
    assert "never edits .gitattributes" in results[0]
    assert "never edits .gitattributes" in results[1]
    patch = finished(events)["patch"]
    assert "GIT binary patch" not in patch
    assert "+    return sum(values) / len(values)" in patch
