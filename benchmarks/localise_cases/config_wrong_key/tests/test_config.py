import pytest
from service.config import load


def test_defaults() -> None:
    s = load({})
    assert (s.host, s.port, s.timeout, s.retries, s.debug) == ("127.0.0.1", 8080, 30.0, 2, False)


def test_port_from_string() -> None:
    assert load({"port": "9000"}).port == 9000


def test_bad_port() -> None:
    with pytest.raises(ValueError, match="bad port"):
        load({"port": 70000})


def test_debug_flag_words() -> None:
    assert load({"debug": "yes"}).debug
    assert not load({"debug": "off"}).debug


def test_retries() -> None:
    assert load({"retries": "5"}).retries == 5


def test_timeout() -> None:
    assert load({"timeout": "2.5"}).timeout == 2.5
