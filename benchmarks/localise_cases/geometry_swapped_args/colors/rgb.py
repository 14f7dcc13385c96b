"""RGB colours."""

from __future__ import annotations

from dataclasses import dataclass

from colors.channels import darken, lighten, mix


@dataclass(frozen=True)
class RGB:
    r: int
    g: int
    b: int

    def hex(self) -> str:
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}"

    def lighter(self, amount: float) -> RGB:
        return RGB(*(lighten(c, amount) for c in (self.r, self.g, self.b)))

    def darker(self, amount: float) -> RGB:
        return RGB(*(darken(c, amount) for c in (self.r, self.g, self.b)))

    def blend(self, other: RGB, weight: float = 0.5) -> RGB:
        pairs = zip((self.r, self.g, self.b), (other.r, other.g, other.b), strict=True)
        return RGB(*(mix(a, b, weight) for a, b in pairs))
