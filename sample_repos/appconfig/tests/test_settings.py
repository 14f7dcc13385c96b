import pytest

from appconfig import ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.from_mapping({})
    assert settings == Settings(
        base_url="https://api.example.com",
        timeout_s=10.0,
        retries=3,
        verify_tls=True,
        log_level="INFO",
        user_agent="appconfig/1.4",
    )


def test_strings_are_coerced() -> None:
    settings = Settings.from_mapping(
        {"retries": "5", "timeout_s": "2.5", "verify_tls": "no", "log_level": "debug"}
    )
    assert settings.retries == 5
    assert settings.timeout_s == 2.5
    assert settings.verify_tls is False
    assert settings.log_level == "DEBUG"


def test_trailing_slash_is_dropped_from_base_url() -> None:
    settings = Settings.from_mapping({"base_url": "http://localhost:8080/v2/"})
    assert settings.base_url == "http://localhost:8080/v2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("base_url", "ftp://files.example.com"),
        ("base_url", "not a url"),
        ("retries", "-1"),
        ("retries", True),
        ("retries", "2.5"),
        ("verify_tls", "maybe"),
        ("log_level", "LOUD"),
    ],
)
def test_bad_values_are_rejected(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_mapping({name: value})
