"""The named thumbnail presets the site uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from thumbs.geometry import Size


class Mode(Enum):
    """``FIT`` keeps the whole image inside the box; ``FILL`` covers the box and crops."""

    FIT = "fit"
    FILL = "fill"


@dataclass(frozen=True)
class Preset:
    """One thumbnail kind: its name, the box it targets and how the image goes in it."""

    name: str
    box: Size
    mode: Mode


PRESETS = {
    preset.name: preset
    for preset in (
        Preset("avatar", Size(128, 128), Mode.FILL),
        Preset("card", Size(400, 300), Mode.FILL),
        Preset("gallery", Size(800, 800), Mode.FIT),
        Preset("preview", Size(1280, 720), Mode.FIT),
    )
}
