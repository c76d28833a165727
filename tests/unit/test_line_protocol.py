"""Line-protocol escaping, table-driven; the integration tests prove servers read it back the same."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from replens.hub.storage.line_protocol import FieldValue, format_line

T = 1_700_000_000_123_456_789


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "expected"),
    [
        pytest.param("reps", {}, {"count": 12}, f"reps count=12i {T}", id="int"),
        pytest.param("reps", {}, {"v": 1.5}, f"reps v=1.5 {T}", id="float"),
        pytest.param("reps", {}, {"v": 2.0}, f"reps v=2.0 {T}", id="whole-float-stays-float"),
        pytest.param("reps", {}, {"v": 1e20}, f"reps v=1e+20 {T}", id="float-exponent"),
        pytest.param("reps", {}, {"v": 0.1 + 0.2}, f"reps v=0.30000000000000004 {T}", id="float-full-precision"),
        pytest.param("reps", {}, {"ok": True, "bad": False}, f"reps bad=false,ok=true {T}", id="bools"),
        pytest.param("reps", {}, {"n": -(2**63)}, f"reps n=-9223372036854775808i {T}", id="int64-min"),
        pytest.param("reps", {}, {"s": "squat"}, f'reps s="squat" {T}', id="string"),
        pytest.param("reps", {}, {"s": 'say "hi"'}, f'reps s="say \\"hi\\"" {T}', id="string-quotes"),
        pytest.param("reps", {}, {"s": "C:\\gym\\"}, f'reps s="C:\\\\gym\\\\" {T}', id="string-backslashes"),
        pytest.param("reps", {}, {"s": "a, b=c d"}, f'reps s="a, b=c d" {T}', id="string-specials-unescaped"),
        pytest.param("reps", {}, {"s": ""}, f'reps s="" {T}', id="empty-string"),
        pytest.param("reps", {}, {"s": "Übung ✓"}, f'reps s="Übung ✓" {T}', id="unicode"),
        pytest.param("rep sets,x", {}, {"f": 1}, f"rep\\ sets\\,x f=1i {T}", id="measurement-comma-space"),
        pytest.param("a=b", {}, {"f": 1}, f"a=b f=1i {T}", id="measurement-equals-unescaped"),
        pytest.param("m", {"a b": "c,d=e"}, {"f": 1}, f"m,a\\ b=c\\,d\\=e f=1i {T}", id="tag-escapes"),
        pytest.param("m", {"k=1": "v"}, {"f": 1}, f"m,k\\=1=v f=1i {T}", id="tag-key-equals"),
        pytest.param("m", {}, {"a b,c=d": 1}, f"m a\\ b\\,c\\=d=1i {T}", id="field-key-escapes"),
        pytest.param("m", {"t": 'say "x"'}, {"f": 1}, f'm,t=say\\ "x" f=1i {T}', id="tag-quotes-literal"),
        pytest.param("m", {"t": "a\\b"}, {"f": 1}, f"m,t=a\\b f=1i {T}", id="tag-lone-backslash"),
        pytest.param("m", {"z": "1", "a": "2", "m": "3"}, {"f": 1}, f"m,a=2,m=3,z=1 f=1i {T}", id="tags-sorted"),
        pytest.param("m", {"a": "", "b": "x"}, {"f": 1}, f"m,b=x f=1i {T}", id="empty-tag-skipped"),
        pytest.param("m", {}, {"b": 2, "a": None, "c": 1}, f"m b=2i,c=1i {T}", id="none-skipped-fields-sorted"),
    ],
)
def test_format_line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any], expected: str) -> None:
    assert format_line(measurement, tags, fields, T) == expected


@pytest.mark.parametrize("time_ns", [0, -1, 2**62, np.int64(5)])
def test_timestamps_are_plain_integers(time_ns: int) -> None:
    assert format_line("m", {}, {"f": 1}, time_ns) == f"m f=1i {int(time_ns)}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(np.float64(1.5), "1.5", id="numpy-float"),
        pytest.param(np.float32(0.5), "0.5", id="numpy-float32"),
        pytest.param(np.int64(7), "7i", id="numpy-int"),
        pytest.param(np.bool_(True), "true", id="numpy-bool"),
    ],
)
def test_numpy_scalars(value: Any, expected: str) -> None:
    assert format_line("m", {}, {"v": value}, 1) == f"m v={expected} 1"


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "message"),
    [
        pytest.param("m", {}, {}, "at least one field", id="no-fields"),
        pytest.param("m", {}, {"a": None}, "at least one field", id="only-none"),
        pytest.param("m", {}, {"v": math.nan}, "not finite", id="nan"),
        pytest.param("m", {}, {"v": math.inf}, "not finite", id="inf"),
        pytest.param("m", {}, {"v": -math.inf}, "not finite", id="minus-inf"),
        pytest.param("m", {}, {"v": 2**63}, "64-bit", id="int-overflow"),
        pytest.param("", {}, {"v": 1}, "empty", id="empty-measurement"),
        pytest.param("#m", {}, {"v": 1}, "comment", id="hash-measurement"),
        pytest.param("m\n", {}, {"v": 1}, "line break", id="newline-measurement"),
        pytest.param("m", {"t": "a\nb"}, {"v": 1}, "line break", id="newline-tag"),
        pytest.param("m", {}, {"s": "a\nb"}, "line break", id="newline-string"),
        pytest.param("m", {}, {"s": "a\rb"}, "line break", id="cr-string"),
        pytest.param("m", {"t": "a\\"}, {"v": 1}, "backslash", id="trailing-backslash"),
        pytest.param("m", {"t": "a\\ b"}, {"v": 1}, "backslash", id="backslash-before-space"),
        pytest.param("m", {"t": "a\\\\b"}, {"v": 1}, "backslash", id="double-backslash"),
        pytest.param("m\\", {}, {"v": 1}, "backslash", id="measurement-trailing-backslash"),
        pytest.param("m", {"": "x"}, {"v": 1}, "empty", id="empty-tag-key"),
        pytest.param("m", {}, {"": 1}, "empty", id="empty-field-key"),
        pytest.param("m", {"time": "x"}, {"v": 1}, "reserved", id="tag-time"),
        pytest.param("m", {}, {"time": 1}, "reserved", id="field-time"),
    ],
)
def test_invalid(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_line(measurement, tags, fields, T)


@pytest.mark.parametrize(
    ("fields", "time_ns"),
    [
        pytest.param({"v": [1]}, T, id="list-field"),
        pytest.param({"v": b"x"}, T, id="bytes-field"),
        pytest.param({"v": 1}, 1.5, id="float-time"),
        pytest.param({"v": 1}, True, id="bool-time"),
    ],
)
def test_wrong_types(fields: Mapping[str, Any], time_ns: Any) -> None:
    with pytest.raises(TypeError):
        format_line("m", {}, fields, time_ns)


def test_field_value_type_alias_covers_all_kinds() -> None:
    values: dict[str, FieldValue | None] = {"b": True, "f": 0.5, "i": 1, "s": "x", "n": None}
    assert format_line("m", {}, values, 3) == 'm b=true,f=0.5,i=1i,s="x" 3'
