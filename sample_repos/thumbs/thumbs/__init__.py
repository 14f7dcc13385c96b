"""Work out thumbnail sizes and crop boxes; an image library then does the pixel work."""

from thumbs.geometry import Box, Size, centered_crop, fill, fit_within
from thumbs.plan import Step, plan
from thumbs.presets import PRESETS, Preset

__all__ = [
    "PRESETS",
    "Box",
    "Preset",
    "Size",
    "Step",
    "centered_crop",
    "fill",
    "fit_within",
    "plan",
]
