import pytest

from changelog import find, latest, notes_since, parse
from changelog.version import version_key


def test_version_order() -> None:
    ordered = ["0.9", "1.2.0rc1", "1.2", "1.9.1", "1.10.0", "v2.0.0a1", "2.0.0b2", "2.0.0"]
    scrambled = ["2.0.0", "1.9.1", "0.9", "2.0.0b2", "1.2", "v2.0.0a1", "1.10.0", "1.2.0rc1"]
    assert sorted(scrambled, key=version_key) == ordered
    assert version_key("1.2") == version_key("1.2.0")


def test_version_key_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a version"):
        version_key("latest")


def test_latest_skips_unreleased(changelog_text: str) -> None:
    release = latest(parse(changelog_text))
    assert release is not None
    assert release.version == "1.10.0"
    assert latest(parse("## [Unreleased]\n### Added\n- Soon.\n")) is None


def test_find(changelog_text: str) -> None:
    releases = parse(changelog_text)
    assert find(releases, "1.9.1").version == "1.9.1"
    assert find(releases, "1.10").version == "1.10.0"
    with pytest.raises(KeyError):
        find(releases, "3.0")


def test_notes_since(changelog_text: str) -> None:
    assert notes_since(parse(changelog_text), "1.9.1") == (
        "## 1.10.0 (2024-05-02)\n"
        "### Added\n"
        "- `--since` option for the `notes` command.\n"
        "### Fixed\n"
        "- Crash on a changelog whose last line has no trailing newline."
    )
