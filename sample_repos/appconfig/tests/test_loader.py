import json
from pathlib import Path

import pytest

from appconfig import ConfigError, Settings, load, save


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.json", environ={}) == Settings.from_mapping({})


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "app.json", {"timeout_s": 30, "retries": 5})
    settings = load(path, environ={})
    assert settings.timeout_s == 30.0
    assert settings.retries == 5
    assert settings.log_level == "INFO"


def test_environment_wins_over_file(tmp_path: Path) -> None:
    path = write(tmp_path / "app.json", {"retries": 5, "log_level": "WARNING"})
    settings = load(path, environ={"APP_RETRIES": "0", "HOME": "/root"})
    assert settings.retries == 0
    assert settings.log_level == "WARNING"


def test_unknown_names_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "app.json", {"retry": 5})
    with pytest.raises(ConfigError, match="unknown setting"):
        load(path, environ={})
    with pytest.raises(ConfigError, match="environment"):
        load(tmp_path / "absent.json", environ={"APP_VERBOSE": "1"})


@pytest.mark.parametrize("text", ["[1, 2]", "{not json"])
def test_malformed_file_is_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "app.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"app\.json"):
        load(path, environ={})


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    settings = Settings(
        base_url="http://localhost:9000",
        timeout_s=2.5,
        retries=1,
        verify_tls=False,
        log_level="DEBUG",
        user_agent="tests",
    )
    path = tmp_path / "saved.json"
    save(settings, path)
    assert load(path, environ={}) == settings
