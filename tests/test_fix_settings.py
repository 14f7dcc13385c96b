"""``codeagent fix`` settings: merged once, bad values are clear errors, the interpreter found."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from codeagent.cli.fix_command import add_fix_options
from codeagent.cli.fix_run import flags
from codeagent.cli.fix_settings import FixSettings, find_python, merge_fix, pytest_args
from codeagent.errors import ConfigError


def test_defaults_file_environment_flags(tmp_path: Path) -> None:
    assert merge_fix(tmp_path, {}, {}) == FixSettings()
    (tmp_path / "pyproject.toml").write_text(
        "[tool.codeagent.fix]\nmax-turns = 9\nstrategy = 'tools'\nallow-test-edits = true\n"
    )
    settings = merge_fix(
        tmp_path,
        {"CODEAGENT_STRATEGY": "guided", "CODEAGENT_BASE_URL": "http://h:1/v1"},
        {"max_turns": None, "max_time": 60.0},
    )
    # allow-test-edits is guarded: the project's own config may not set it (test_trust_*.py).
    assert (settings.max_turns, settings.strategy, settings.allow_test_edits) == (
        9,
        "guided",
        False,
    )
    assert [i.key for i in settings.provenance.ignored] == ["allow_test_edits"]
    assert (settings.base_url, settings.max_time) == ("http://h:1/v1", 60.0)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"strategy": "clever"}, "--strategy must be one of"),
        ({"transport": "carrier-pigeon"}, "--transport must be one of"),
        ({"max_turns": -1}, "--max-turns must not be negative"),
        ({"max_time": "soon"}, "'max_time' from the flag must be float"),
        ({"allow_test_edits": "maybe"}, "'allow_test_edits' from the flag must be bool"),
    ],
)
def test_bad_values_are_one_clear_line(tmp_path: Path, flags: dict[str, object], message: str):
    with pytest.raises(ConfigError, match=message):
        merge_fix(tmp_path, {}, flags)


def test_the_repositorys_own_interpreter_is_found(tmp_path: Path) -> None:
    project = tmp_path / "repo" / "pkg"
    project.mkdir(parents=True)
    assert find_python(project, "") == sys.executable  # none: ours
    venv_python = tmp_path / "repo" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    assert find_python(project, "") == str(venv_python)  # found in a folder above
    with pytest.raises(ConfigError, match="no such interpreter"):
        find_python(project, str(tmp_path / "nope"))


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("", []),
        ("pytest -x tests/unit", ["-x", "tests/unit"]),
        ("python -m pytest -k 'not slow'", ["-k", "not slow"]),
        ("/usr/bin/py.test", []),
        ("make test", None),
    ],
)
def test_pytest_commands_are_read_for_their_arguments(command: str, args: list[str] | None):
    assert pytest_args(command) == args


def test_the_timeouts_come_from_the_command_line(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_fix_options(parser)
    args = parser.parse_args(["--test-timeout", "7", "--idle-timeout", "9.5"])
    settings = merge_fix(tmp_path, {"CODEAGENT_IDLE_TIMEOUT": "30"}, flags(args))
    assert (settings.test_timeout, settings.idle_timeout) == (7.0, 9.5)
    assert merge_fix(tmp_path, {"CODEAGENT_IDLE_TIMEOUT": "30"}, {}).idle_timeout == 30.0
    with pytest.raises(ConfigError, match="idle"):
        merge_fix(tmp_path, {}, {"idle_timeout": 0.0})
