import pytest

CHANGELOG = """\
# Changelog
All notable changes to this project are documented in this file.

## [Unreleased]
### Added
- Export release notes as HTML.

## [1.10.0] - 2024-05-02
### Added
- `--since` option for the `notes` command.
### Fixed
- Crash on a changelog whose last line
  has no trailing newline.

## [1.9.1] - 2024-03-14
### Security
- Escape HTML in rendered notes.

## [1.2.0] - 2023-11-30
### Changed
- Dates are read as ISO 8601.
### Removed
- Python 3.8 support.
"""


@pytest.fixture
def changelog_text() -> str:
    return CHANGELOG
