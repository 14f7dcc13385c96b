"""Small arithmetic helpers."""


def add(a: int, b: int) -> int:
    return a + b


def clamp(value: int, low: int, high: int) -> int:
    """``value`` limited to the closed range [low, high]."""
    if value < low:
        return low
    if value > high:
        return high
    return value


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of nothing")
    return sum(values) / (len(values) - 1)
