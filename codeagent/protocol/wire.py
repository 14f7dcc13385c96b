"""JSON at the edge: decoding frames and reading fields with typed, located errors.

Everything that reads raw JSON objects goes through these helpers, so a malformed field always
becomes an ``InvalidRequest`` naming the parameter, never a ``KeyError`` or ``TypeError``.

``loads`` is stricter than ``json.loads`` in the two ways that matter downstream: ``NaN`` and
``Infinity`` (and numbers that overflow to infinity) are not JSON (RFC 8259, section 6), and a
string holding a lone UTF-16 surrogate (valid escape syntax, ``"\\ud800"``) cannot be encoded
as UTF-8, so it would fail later, on a socket send or in a tokenizer, far from its cause.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from codeagent.errors import ErrorInfo, InvalidRequest

JsonObject = dict[str, Any]
T = TypeVar("T")


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> InvalidRequest:
    """An ``invalid_request_error`` (HTTP 400) about ``param``."""
    return InvalidRequest(
        ErrorInfo(status=400, type="invalid_request_error", code=code, message=message, param=param)
    )


def loads(text: str | bytes) -> Any:
    """Parse JSON text strictly; raises ``InvalidRequest`` (``invalid_json``, or
    ``invalid_value`` naming the string with a lone surrogate)."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"Frame is not valid JSON: {exc}", code="invalid_json") from None
    bad = _lone_surrogate_at(value)
    if bad is not None:
        raise invalid(
            f"Invalid value for '{bad}': a string holds a lone UTF-16 surrogate, which is not "
            "Unicode text.",
            param=bad,
            code="invalid_value",
        )
    return value


def decode_object(text: str | bytes) -> JsonObject:
    """Parse one JSON object (as ``loads``); anything else is an ``InvalidRequest``."""
    value = loads(text)
    if not isinstance(value, dict):
        raise invalid("Frame must be a JSON object.", code="invalid_json")
    return value


@contextmanager
def parsing() -> Iterator[None]:
    """Map any failure of reading wire data to a 400, so no malformed value can escape as a
    ``TypeError``, ``OverflowError`` or the like and take a connection down with it.

    The field readers below already raise precise errors; this is the net under them.
    """
    try:
        yield
    except (ValueError, TypeError, OverflowError, ArithmeticError, RecursionError, KeyError) as e:
        raise invalid(f"Invalid request: {type(e).__name__}: {_short(str(e))}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {_short(text)} is out of range")
    return value


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _lone_surrogate_at(value: Any) -> str | None:
    """The path of the first string (or key) holding a lone surrogate, or ``None``.

    ``json`` joins escaped surrogate pairs into one code point, so any surrogate left is lone.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _SURROGATE.search(node):
                return path or "(frame)"
        elif isinstance(node, dict):
            for key, child in node.items():
                if not key.isascii() and _SURROGATE.search(key):
                    return path or "(frame)"
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node))
    return None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def encode(obj: Any) -> str:
    """Compact JSON, the form put on the wire (no spaces: every byte is counted)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def field(obj: Mapping[str, Any], key: str, kind: type[T], where: str, default: T) -> T:
    """``obj[key]`` if present and not null, checked to be a ``kind``; else ``default``."""
    value = obj.get(key)
    if value is None:
        return default
    return _checked(value, kind, f"{where}{key}")


def required(obj: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    """``obj[key]``, which must be present, not null, and a ``kind``."""
    value = obj.get(key)
    if value is None:
        raise invalid(
            f"Missing required parameter: '{where}{key}'.",
            param=f"{where}{key}",
            code="missing_required_parameter",
        )
    return _checked(value, kind, f"{where}{key}")


def optional(obj: Mapping[str, Any], key: str, kind: type[T], where: str) -> T | None:
    """``obj[key]`` checked to be a ``kind``, or ``None`` when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    return _checked(value, kind, f"{where}{key}")


def number(
    obj: Mapping[str, Any], key: str, where: str, *, minimum: float, maximum: float
) -> float | None:
    """A JSON number (int or float, not bool) within ``[minimum, maximum]``, or ``None``.

    The range is checked before any conversion, so an integer of any size is a 400, never an
    ``OverflowError``."""
    value = obj.get(key)
    param = where + key
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"Invalid type for '{param}': expected a number.", param=param)
    if value < minimum:
        raise invalid(
            f"Invalid '{param}': decimal below minimum value. Expected a value >= {minimum}, "
            f"but got {_short(str(value))} instead.",
            param=param,
            code="decimal_below_min_value",
        )
    if value > maximum:
        raise invalid(
            f"Invalid '{param}': decimal above maximum value. Expected a value <= {maximum}, "
            f"but got {_short(str(value))} instead.",
            param=param,
            code="decimal_above_max_value",
        )
    return float(value)


def _checked(value: Any, kind: type[T], param: str) -> T:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        expected = {str: "a string", int: "an integer", bool: "a boolean", list: "an array"}.get(
            kind, "an object"
        )
        raise invalid(
            f"Invalid type for '{param}': expected {expected}.",
            param=param,
            code="invalid_type",
        )
    return cast(T, value)


def without(obj: Mapping[str, Any], keys: frozenset[str]) -> JsonObject:
    """The fields of ``obj`` not named in ``keys``: unknown fields, kept for round trips."""
    return {k: v for k, v in obj.items() if k not in keys}
