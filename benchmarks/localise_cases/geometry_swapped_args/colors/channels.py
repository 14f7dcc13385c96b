"""Colour channel arithmetic on 0-255 integers."""

from __future__ import annotations


def clamp(value: float, low: int, high: int) -> int:
    """``value`` rounded and limited to [low, high]."""
    return int(min(max(round(value), low), high))


def lighten(channel: int, amount: float) -> int:
    return clamp(channel + (255 - channel) * amount, 0, 255)


def darken(channel: int, amount: float) -> int:
    return clamp(channel * (1 - amount), 255, 0)


def mix(a: int, b: int, weight: float = 0.5) -> int:
    return clamp(a * (1 - weight) + b * weight, 0, 255)
