"""InfluxDB line protocol, formatted by hand so every server version (1.x, 2.x, 3.x, VictoriaMetrics) reads it alike."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping
from typing import Any

FieldValue = float | int | bool | str

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": r"\\"})


def _check_name(kind: str, text: str, specials: str) -> None:
    """Reject names that no escaping can carry through the parser intact.

    Servers keep a backslash in names literally, so one right before a character we escape (or at the
    end) would swallow that escape and the line would be rejected as a whole batch.
    """
    if not text:
        raise ValueError(f"{kind} must not be empty")
    if "\n" in text or "\r" in text:
        raise ValueError(f"{kind} {text!r} contains a line break, which line protocol cannot carry")
    for index, char in enumerate(text):
        if char == "\\" and (index + 1 == len(text) or text[index + 1] in specials + "\\"):
            raise ValueError(f"{kind} {text!r} has a backslash before {specials!r} or at its end")


@functools.lru_cache(maxsize=4096)
def escape_measurement(name: str) -> str:
    """Escape a measurement name (commas and spaces)."""
    _check_name("measurement", name, ", ")
    if name.startswith("#"):
        raise ValueError(f"measurement {name!r} starts with '#', which makes the line a comment")
    return name.translate(_MEASUREMENT_ESCAPES)


@functools.lru_cache(maxsize=65536)  # names and tag values repeat: checking them once halves a point's cost
def escape_key(kind: str, key: str) -> str:
    """Escape a tag key, tag value or field key (commas, equals signs and spaces)."""
    _check_name(kind, key, ",= ")
    return key.translate(_KEY_ESCAPES)


@functools.lru_cache(maxsize=4096)
def _tag_key(key: str) -> str:
    if key == "time":
        raise ValueError("tag key 'time' is reserved by InfluxDB")
    return escape_key("tag key", key)


@functools.lru_cache(maxsize=4096)
def _field_key(key: str) -> str:
    if key == "time":
        raise ValueError("field key 'time' is reserved by InfluxDB")
    return escape_key("field key", key)


def _is_bool(value: object) -> bool:
    """True for Python and numpy booleans; checked first because bool is also an int."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in {"bool", "bool_"})


def _exact_type_value(value: Any) -> str | None:
    """The plain Python types, without the abstract-class checks of the general path (the hub's hot path).

    None for anything else, and for values the general path must reject with its message.
    """
    kind = type(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else None
    if kind is int:
        return f"{value}i" if _INT64_MIN <= value <= _INT64_MAX else None
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        return None if "\n" in value or "\r" in value else '"' + value.translate(_STRING_ESCAPES) + '"'
    return None


def format_field_value(key: str, value: FieldValue) -> str:
    """Format one field value: ints get ``i``, strings are quoted, floats keep full precision."""
    exact = _exact_type_value(value)
    if exact is not None:
        return exact
    if _is_bool(value):
        return "true" if value else "false"
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            # InfluxDB 1.x would accept it, but VictoriaMetrics and 2.x split the line there.
            raise ValueError(f"field {key!r}: string contains a line break, which line protocol cannot carry")
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if isinstance(value, numbers.Integral):
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(f"field {key!r}: {number} does not fit a 64-bit integer")
        return f"{number}i"
    if isinstance(value, numbers.Real):
        real = float(value)
        if not math.isfinite(real):
            raise ValueError(f"field {key!r}: {real} is not finite, InfluxDB cannot store it")
        # repr(float(...)), not repr(value): numpy 2 scalars repr as "np.float64(1.5)".
        return repr(real)
    raise TypeError(f"field {key!r}: unsupported type {type(value).__name__}")


def format_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue | None],
    time_ns: int,
) -> str:
    """Format one point as a line (precision ns); tags sorted by key, which the servers index fastest.

    Fields whose value is None are left out, and so are tags with an empty value, since InfluxDB has
    no empty tag value and a missing tag reads the same.

    Raises:
        ValueError: no fields remain, a value is NaN or infinite, or a name cannot be represented.
        TypeError: a field value or the timestamp has an unsupported type.
    """
    if isinstance(time_ns, bool) or not isinstance(time_ns, numbers.Integral):
        raise TypeError(f"time_ns must be an int, not {type(time_ns).__name__}")
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value == "":
            continue
        parts.append(f"{_tag_key(key)}={escape_key('tag value', value)}")
    field_parts: list[str] = []
    for key in sorted(fields):
        field_value = fields[key]
        if field_value is None:
            continue
        field_parts.append(f"{_field_key(key)}={format_field_value(key, field_value)}")
    if not field_parts:
        raise ValueError(f"measurement {measurement!r}: a line needs at least one field that is not None")
    return f"{','.join(parts)} {','.join(field_parts)} {int(time_ns)}"
