from colors.channels import clamp
from colors.rgb import RGB


def test_clamp() -> None:
    assert (clamp(-3, 0, 255), clamp(300, 0, 255), clamp(7.6, 0, 255)) == (0, 255, 8)


def test_hex() -> None:
    assert RGB(255, 0, 16).hex() == "#ff0010"


def test_lighter() -> None:
    assert RGB(0, 100, 255).lighter(0.5) == RGB(128, 178, 255)


def test_blend() -> None:
    assert RGB(0, 0, 0).blend(RGB(200, 100, 50)) == RGB(100, 50, 25)


def test_darker() -> None:
    assert RGB(200, 100, 0).darker(0.5) == RGB(100, 50, 0)
