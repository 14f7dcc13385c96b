"""Settings merge one way: defaults -> config file -> environment -> flags (which settings a
project's own config may set: tests/test_trust_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeagent.cli.config_layers import read_project_config
from codeagent.cli.settings import ServeSettings, merge
from codeagent.errors import ConfigError


def test_later_sources_win() -> None:
    settings = merge(
        {"port": 9000, "host": "127.0.0.2", "token_delay": 0.5},
        {"CODEAGENT_PORT": "9001", "CODEAGENT_API_KEY": "k"},
        {"port": 9002, "host": None},
    )
    assert settings.port == 9002
    assert settings.host == "127.0.0.2"
    assert settings.api_key == "k"
    assert settings.token_delay == 0.5
    assert merge({}, {}, {}) == ServeSettings()


def test_config_file_tables(tmp_path: Path) -> None:
    assert read_project_config(tmp_path, "serve") == (None, {})
    (tmp_path / "pyproject.toml").write_text("[tool.codeagent.serve]\nport = 7000\n")
    assert read_project_config(tmp_path, "serve") == (tmp_path / "pyproject.toml", {"port": 7000})
    (tmp_path / ".codeagent.toml").write_text("[serve]\nbackend = 'echo'\n")
    dotfile = tmp_path / ".codeagent.toml"
    assert read_project_config(tmp_path, "serve") == (dotfile, {"backend": "echo"})  # it wins
    assert read_project_config(tmp_path, "fix") == (dotfile, {})
    (tmp_path / ".codeagent.toml").write_text("[serve\n")
    with pytest.raises(ConfigError, match="cannot read the project config"):
        read_project_config(tmp_path, "serve")


def test_bad_values_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'prot' in the config file"):
        merge({"prot": 1}, {}, {})
    with pytest.raises(ConfigError, match="'port' from the environment CODEAGENT_PORT must be int"):
        merge({}, {"CODEAGENT_PORT": "eighty"}, {})
    with pytest.raises(ConfigError, match="port must be between"):
        merge({}, {}, {"port": 70000})


def test_api_key_never_in_repr() -> None:
    settings = merge({}, {"CODEAGENT_API_KEY": "sk-secret"}, {})
    assert "sk-secret" not in repr(settings)
    from codeagent.cli.main import server_config

    assert "sk-secret" not in repr(server_config(settings))


def test_allowed_origins_merge_in_order() -> None:
    config_file = {"allowed_origins": ["https://a.example", "HTTPS://A.example/"]}
    environ = {"CODEAGENT_ALLOWED_ORIGINS": "https://b.example, https://c.example:8443"}
    flags = {"allowed_origins": ["https://d.example,https://e.example", "https://f.example"]}
    assert merge({}, {}, {}).allowed_origins == ()
    assert merge(config_file, {}, {}).allowed_origins == ("https://a.example",)
    both = merge(config_file, environ, {"allowed_origins": None})
    assert both.allowed_origins == ("https://b.example", "https://c.example:8443")
    every = merge(config_file, environ, flags).allowed_origins
    assert every == ("https://d.example", "https://e.example", "https://f.example")
    assert merge({"allowed_origins": "*"}, {}, {}).allowed_origins == ("*",)
    assert merge({}, {"CODEAGENT_ALLOWED_ORIGINS": ""}, {}).allowed_origins == ()
    from codeagent.cli.main import build_parser, server_config

    repeated = ["--allowed-origins", "https://g.example,https://h.example"]
    args = build_parser().parse_args(["serve", *repeated, "--allowed-origins", "https://i.example"])
    assert args.allowed_origins == ["https://g.example,https://h.example", "https://i.example"]
    assert build_parser().parse_args(["serve"]).allowed_origins is None
    settings = merge({}, {}, {"allowed_origins": args.allowed_origins})
    expected = ("https://g.example", "https://h.example", "https://i.example")
    assert server_config(settings).allowed_origins == expected


def test_bad_allowed_origins_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="allowed origin 'null'"):
        merge({}, {"CODEAGENT_ALLOWED_ORIGINS": "http://localhost:3000,null"}, {})
    with pytest.raises(ConfigError, match=r"allowed origin 'app\.example' is not an origin"):
        merge({}, {}, {"allowed_origins": ["app.example"]})
    with pytest.raises(ConfigError, match="'allowed_origins' from the config file must be a list"):
        merge({"allowed_origins": 8443}, {}, {})
    with pytest.raises(ConfigError, match="'allowed_origins' from the config file must be a list"):
        merge({"allowed_origins": ["https://a.example", 1]}, {}, {})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"api_key": ["sk-in-a-list"]}, "'api_key' from the config file must be str"),
        ({"host": 127}, "'host' from the config file must be str"),
        ({"port": 80.5}, "'port' from the config file must be int"),
        ({"port": True}, "'port' from the config file must be int"),
        ({"ping_interval": "nan"}, "'ping_interval' from the config file must be float"),
        ({"threads": {"n": 2}}, "'threads' from the config file must be int"),
    ],
)
def test_values_of_the_wrong_kind_are_refused_not_converted(
    config: dict[str, object], message: str
) -> None:
    """``str(["sk-..."])`` must not become an API key, nor 80.5 port 80: a clear error, and
    the value itself (a key, perhaps) is not repeated in it."""
    with pytest.raises(ConfigError, match=message) as refused:
        merge(config, {}, {})
    assert "sk-in-a-list" not in str(refused.value)


def test_max_connections_merges_in_order_and_reaches_the_server() -> None:
    from codeagent.cli.main import build_parser, server_config

    assert merge({}, {}, {}).max_connections == 256
    assert server_config(merge({}, {}, {})).max_connections == 256
    assert merge({"max_connections": 10}, {}, {}).max_connections == 10
    environ = {"CODEAGENT_MAX_CONNECTIONS": "20"}
    assert merge({"max_connections": 10}, environ, {}).max_connections == 20
    assert merge({"max_connections": 10}, environ, {"max_connections": None}).max_connections == 20
    args = build_parser().parse_args(["serve", "--max-connections", "30"])
    settings = merge({"max_connections": 10}, environ, {"max_connections": args.max_connections})
    assert server_config(settings).max_connections == 30


def test_bad_max_connections_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="max-connections must be positive"):
        merge({}, {}, {"max_connections": 0})
    with pytest.raises(
        ConfigError,
        match="'max_connections' from the environment CODEAGENT_MAX_CONNECTIONS must be int",
    ):
        merge({}, {"CODEAGENT_MAX_CONNECTIONS": "many"}, {})
