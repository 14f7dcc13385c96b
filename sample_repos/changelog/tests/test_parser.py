import datetime as dt

import pytest

from changelog import Change, ChangelogError, parse


def test_title_and_intro_are_ignored() -> None:
    assert parse("# Changelog\n\nNothing released yet.\n") == []


def test_unreleased_section(changelog_text: str) -> None:
    unreleased = parse(changelog_text)[0]
    assert unreleased.version == "Unreleased"
    assert unreleased.date is None
    assert not unreleased.released
    assert unreleased.changes == (Change("added", "Export release notes as HTML."),)


def test_versions_and_dates(changelog_text: str) -> None:
    releases = parse(changelog_text)
    assert [(release.version, release.date) for release in releases] == [
        ("Unreleased", None),
        ("1.10.0", dt.date(2024, 5, 2)),
        ("1.9.1", dt.date(2024, 3, 14)),
        ("1.2.0", dt.date(2023, 11, 30)),
    ]


def test_continuation_lines_are_joined(changelog_text: str) -> None:
    release = parse(changelog_text)[1]
    assert release.of_kind("fixed") == [
        "Crash on a changelog whose last line has no trailing newline."
    ]


def test_each_release_has_its_own_changes(changelog_text: str) -> None:
    releases = parse(changelog_text)
    assert releases[1].of_kind("added") == ["`--since` option for the `notes` command."]
    assert releases[2].changes == (Change("security", "Escape HTML in rendered notes."),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## [1.0.0] - 2024-01-01\n- Orphan change.\n", "outside a ### section"),
        ("## [1.0.0] - 2024-01-01\n### Improved\n- Speed.\n", "unknown section"),
        ("## [1.0.0]\n### Added\n- Everything.\n", "has no date"),
        ("## [1.0.0] - 2024-02-30\n### Added\n- Everything.\n", "bad date"),
        ("## [1.0.0] - 2024-01-01\n### Added\nplain text\n", "unexpected line"),
    ],
    ids=["orphan-bullet", "unknown-section", "no-date", "bad-date", "stray-line"],
)
def test_malformed_changelogs(text: str, message: str) -> None:
    with pytest.raises(ChangelogError, match=message) as error:
        parse(text)
    assert error.value.line >= 1
