from forms.fields import parse, to_bool, to_int, to_tags


def test_int() -> None:
    assert to_int(" 42 ") == 42


def test_int_missing() -> None:
    assert to_int(None, 7) == 7


def test_int_garbage_falls_back() -> None:
    assert to_int("forty", 5) == 5


def test_bool() -> None:
    assert to_bool("Yes")
    assert not to_bool(None)


def test_tags() -> None:
    assert to_tags("a, b,,c ") == ["a", "b", "c"]


def test_parse() -> None:
    form = {"age": "30", "subscribe": "on", "tags": "x"}
    assert parse(form) == {"age": 30, "subscribe": True, "tags": ["x"]}
