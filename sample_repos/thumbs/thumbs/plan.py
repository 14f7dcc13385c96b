"""Planning the resize (and crop) steps that turn an upload into each preset's thumbnail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from thumbs.geometry import Box, Size, centered_crop, fill, fit_within
from thumbs.presets import PRESETS, Mode, Preset


@dataclass(frozen=True)
class Step:
    """Resize the original to ``resize``, then crop ``crop`` out of it when it is set."""

    preset: str
    resize: Size
    crop: Box | None

    @property
    def output(self) -> Size:
        """The size of the finished thumbnail."""
        if self.crop is None:
            return self.resize
        return Size(self.crop.width, self.crop.height)


def plan(original: Size, presets: Iterable[Preset] | None = None) -> list[Step]:
    """One step per preset (all of ``PRESETS`` by default), in the order given.

    ``FIT`` presets never enlarge the image. ``FILL`` presets scale it to cover the box and
    crop the middle; an image smaller than the box is enlarged.
    """
    chosen = PRESETS.values() if presets is None else presets
    steps = []
    for preset in chosen:
        if preset.mode is Mode.FIT:
            steps.append(Step(preset.name, fit_within(original, preset.box), None))
        else:
            covered = fill(original, preset.box)
            steps.append(Step(preset.name, covered, centered_crop(covered, preset.box)))
    return steps
