"""JSON at the edge: decoding frames and reading fields with typed, located errors.

Everything that reads raw JSON objects goes through these helpers, so a malformed field always
becomes an ``InvalidRequest`` naming the parameter, never a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from codeagent.errors import ErrorInfo, InvalidRequest

JsonObject = dict[str, Any]
T = TypeVar("T")


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> InvalidRequest:
    """An ``invalid_request_error`` (HTTP 400) about ``param``."""
    return InvalidRequest(
        ErrorInfo(status=400, type="invalid_request_error", code=code, message=message, param=param)
    )


def decode_object(text: str | bytes) -> JsonObject:
    """Parse one JSON object; anything else is an ``InvalidRequest`` with code ``invalid_json``."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"Frame is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(value, dict):
        raise invalid("Frame must be a JSON object.", code="invalid_json")
    return value


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


def number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    """A JSON number (int or float, not bool), or ``None``."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"Invalid type for '{where}{key}': expected a number.", param=where + key)
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
