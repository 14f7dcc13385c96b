import pytest

from thumbs import Box, Size, centered_crop, fill, fit_within


def test_parse_size() -> None:
    assert Size.parse("640x480") == Size(640, 480)
    assert Size.parse("20X10") == Size(20, 10)
    assert str(Size(3, 4)) == "3x4"


@pytest.mark.parametrize("text", ["640", "640x", "x480", "-1x5", "0x10"])
def test_parse_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        Size.parse(text)


def test_fit_landscape_within_square() -> None:
    assert fit_within(Size(4000, 3000), Size(800, 800)) == Size(800, 600)


def test_fit_square_within_square() -> None:
    assert fit_within(Size(1024, 1024), Size(256, 256)) == Size(256, 256)


def test_fit_portrait_within_square() -> None:
    assert fit_within(Size(3000, 4000), Size(800, 800)) == Size(600, 800)


def test_fit_keeps_small_images() -> None:
    assert fit_within(Size(300, 200), Size(800, 800)) == Size(300, 200)
    assert fit_within(Size(300, 300), Size(600, 600), upscale=True) == Size(600, 600)


def test_fill_covers_the_box() -> None:
    assert fill(Size(4000, 3000), Size(128, 128)) == Size(171, 128)
    assert fill(Size(3000, 4000), Size(400, 300)) == Size(400, 533)
    assert fill(Size(64, 64), Size(128, 128)) == Size(128, 128)


def test_centered_crop() -> None:
    box = centered_crop(Size(171, 128), Size(128, 128))
    assert box == Box(21, 0, 128, 128)
    assert (box.right, box.bottom) == (149, 128)


def test_crop_larger_than_image() -> None:
    with pytest.raises(ValueError, match="cannot crop"):
        centered_crop(Size(100, 100), Size(128, 128))
