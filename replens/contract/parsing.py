"""The slow path both decoders share: parse a payload that failed validation and say what is wrong with it."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from pydantic import ValidationError

from replens.contract.events import SCHEMA_VERSION
from replens.errors import ContractError


def json_object(topic: str, payload: bytes) -> dict[str, Any]:
    """The payload as a JSON object of this schema; ContractError naming the topic otherwise."""
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ContractError(f"{topic}: not JSON ({err})") from err
    if not isinstance(raw, dict):
        raise ContractError(f"{topic}: expected a JSON object, got {type(raw).__name__}")
    version = raw.get("schema")
    if version != SCHEMA_VERSION:
        raise ContractError(f"{topic}: unsupported schema version {version!r} (this hub speaks {SCHEMA_VERSION})")
    return raw


def first_error(err: ValidationError, where: str = "", whole: str = "payload") -> str:
    """``where.field: message (N error(s))`` for the first complaint; ``whole`` names it when it has no field.

    A string that is not one of an enum's values gets a did-you-mean (``'benchpress'``: ``'bench_press'``).
    """
    first = err.errors()[0]
    inside = ".".join(str(p) for p in first["loc"]) or whole
    place = f"{where}.{inside}" if where else inside
    return f"{place}: {first['msg']}{_did_you_mean(first)} ({err.error_count()} error(s))"


def _did_you_mean(error: Any) -> str:
    if error["type"] != "enum" or not isinstance(error.get("input"), str):
        return ""
    choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    close = difflib.get_close_matches(error["input"], choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
