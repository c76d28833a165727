"""What Grafana does to a dashboard's InfluxQL before sending it: time macros, $__interval and variables.

Grafana cannot be installed here, so the tests do its interpolation themselves, following its InfluxDB
datasource: ``$timeFilter`` becomes ``time >= now() - 7d`` (browser mode, relative ranges in d/h/m/s)
or ``time >= <ms>ms and time <= <ms>ms`` (backend mode, Grafana 10+), a multi-value or All variable
inside a regex becomes ``(a|b)`` with each value regex-escaped (or its ``allValue``), and a query
variable's options are the second column of each row (the first for one-column answers).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_FILES = sorted((ROOT / "dashboards").glob("*.json"))

BUILTINS = {
    "timeFilter", "__timeFilter", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms", "__from",
    "__to", "__dashboard", "__user", "__org", "__value", "__url_time_range", "__field", "__series", "__data",
    "__name", "__rate_interval",
}
VARIABLE_REF = re.compile(r"\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")
_RELATIVE = re.compile(r"^now-(\d+)([smhdwMy])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "M": 30 * 86_400, "y": 365 * 86_400}
_INTERVALS_S = [1, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86_400]


def load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def variables_used(text: str) -> set[str]:
    return {next(g for g in match.groups() if g) for match in VARIABLE_REF.finditer(text)}


def range_s(time_from: str) -> int:
    match = _RELATIVE.match(time_from)
    assert match, f"only relative ranges like now-7d are simulated, not {time_from!r}"
    return int(match[1]) * _UNIT_S[match[2]]


def time_filter(time_from: str, *, backend: bool, now_s: float | None = None) -> str:
    """``$timeFilter`` for a range from ``time_from`` to now, as Grafana's browser or backend code writes it."""
    match = _RELATIVE.match(time_from)
    assert match, time_from
    if not backend and match[2] in "smhd":
        return f"time >= now() - {match[1]}{match[2]}"
    now_ms = int((time.time() if now_s is None else now_s) * 1000)
    return f"time >= {now_ms - range_s(time_from) * 1000}ms and time <= {now_ms}ms"


def interval(time_from: str, min_interval: str | None = None, max_points: int = 1000) -> str:
    """``$__interval``: the range over the panel's data points, rounded to a nice step, at least the minimum."""
    wanted = range_s(time_from) / max_points
    if min_interval:
        wanted = max(wanted, int(min_interval[:-1]) * _UNIT_S[min_interval[-1]])
    step = next((s for s in _INTERVALS_S if s >= wanted), _INTERVALS_S[-1])
    for unit in ("d", "h", "m", "s"):
        if step % _UNIT_S[unit] == 0:
            return f"{step // _UNIT_S[unit]}{unit}"
    raise AssertionError(step)


def variable_text(variable: dict[str, Any], chosen: list[str]) -> str:
    """How Grafana writes a variable into an InfluxQL query: one value as is, several or All as a regex group."""
    if variable.get("includeAll") and chosen == ["$__all"]:
        if variable.get("allValue"):
            return str(variable["allValue"])
        chosen = variable["_options"]
    if len(chosen) == 1 and not variable.get("multi") and not variable.get("includeAll"):
        return chosen[0]
    escaped = [re.sub(r"([\\^$*+?.()|{}\[\]/-])", r"\\\1", v) for v in chosen]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(query: str, values: dict[str, str], *, time_from: str, backend: bool,
                min_interval: str | None = None) -> str:
    """The query as Grafana sends it; fails when a ``$name`` is left that Grafana would not know."""
    text = query.replace("$timeFilter", time_filter(time_from, backend=backend))
    text = text.replace("$__interval", interval(time_from, min_interval))
    for name in sorted(values, key=len, reverse=True):
        text = text.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    left = variables_used(text)
    assert not left, f"unknown variables {left} in {text}"
    return text


def option_values(result: dict[str, Any]) -> list[str]:
    """A query variable's options from an InfluxDB answer, the way Grafana's response parser reads them."""
    found: list[str] = []
    for statement in result.get("results", []):
        for series in statement.get("series", []):
            for row in series.get("values", []):
                value = row[1] if len(row) > 1 else row[0]
                if value is not None and str(value) not in found:
                    found.append(str(value))
    return found
