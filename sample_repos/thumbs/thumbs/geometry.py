"""Sizes, boxes and the scaling arithmetic of thumbnails. All sizes are whole pixels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    """A width and height in pixels, both at least 1."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"a size needs positive sides, got {self.width}x{self.height}")

    @classmethod
    def parse(cls, text: str) -> Size:
        """The size written as ``WIDTHxHEIGHT``, e.g. ``640x480``."""
        width, sep, height = text.lower().partition("x")
        if not sep or not width.isdigit() or not height.isdigit():
            raise ValueError(f"not a size: {text!r}")
        return cls(int(width), int(height))

    @property
    def aspect(self) -> float:
        """Width over height: above 1 for landscape, below 1 for portrait."""
        return self.width / self.height

    def scaled(self, factor: float) -> Size:
        """Both sides multiplied by ``factor`` and rounded, never below one pixel."""
        return Size(max(1, round(self.width * factor)), max(1, round(self.height * factor)))

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Box:
    """A crop rectangle: ``left`` and ``top`` offsets, then its size."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def fit_within(size: Size, bounds: Size, upscale: bool = False) -> Size:
    """The largest size with ``size``'s aspect ratio that fits inside ``bounds``.

    Images already smaller than ``bounds`` keep their size unless ``upscale`` is set.
    """
    scale = min(bounds.width / size.width, bounds.height / size.width)
    if not upscale:
        scale = min(scale, 1.0)
    return size.scaled(scale)


def fill(size: Size, bounds: Size) -> Size:
    """The smallest size with ``size``'s aspect ratio that covers all of ``bounds``."""
    scale = max(bounds.width / size.width, bounds.height / size.height)
    return Size(
        max(bounds.width, round(size.width * scale)),
        max(bounds.height, round(size.height * scale)),
    )


def centered_crop(size: Size, target: Size) -> Box:
    """The ``target``-sized box in the middle of an image of ``size`` (``target`` fits inside)."""
    if target.width > size.width or target.height > size.height:
        raise ValueError(f"cannot crop {target} out of {size}")
    return Box(
        left=(size.width - target.width) // 2,
        top=(size.height - target.height) // 2,
        width=target.width,
        height=target.height,
    )
