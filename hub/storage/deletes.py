"""How each InfluxDB API deletes exactly one point (measurement + tag set + time), as pure request builders.

InfluxDB keys a point by measurement, tag set and time, so a point whose tag changes (a set's exercise)
must be deleted under its old tags and written under the new ones. The writers in transports.py send
what these build:

- **v1**: InfluxQL ``DELETE FROM "set" WHERE "agent"='a' AND … AND time = <ns>`` on ``POST /query``. The
  answer is 200 even for some failures, which sit inside ``results``: read them with
  :func:`influxql_outcome`.
- **v2**: ``POST /api/v2/delete`` with ``start``/``stop`` and a predicate on ``_measurement`` and the tags.
  The range is [t, t + 1 ns]: ``start`` is inclusive, and the extra nanosecond deletes the point whether or
  not a server treats ``stop`` as inclusive. Nothing else can sit in it: sets of a station start
  milliseconds apart at least, reps seconds apart.
- **v3**: InfluxDB 3 Core has no way to delete a point (only whole tables and databases; row deletion is an
  Enterprise feature, applied asynchronously by its compactor): :data:`V3_NO_POINT_DELETE` says so.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from replens.hub.storage.points import PointKey

V3_NO_POINT_DELETE = (
    "InfluxDB 3 (api_version 3) cannot delete a single point: Core deletes only whole tables and databases. "
    "The point under the old tags stays; see docs/influxdb.md"
)

DATABASE_NOT_FOUND = "database not found"


def _identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxql_delete(key: PointKey) -> str:
    """The InfluxQL statement that deletes the one point with this key (1.x; every retention policy)."""
    conditions = [f"{_identifier(k)}={_string(v)}" for k, v in sorted(key.tags.items()) if v]
    conditions.append(f"time = {key.time_ns}")
    return f"DELETE FROM {_identifier(key.measurement)} WHERE {' AND '.join(conditions)}"


class QueryRefused(Exception):  # noqa: N818 (a refusal read from the body, not a bug)
    """InfluxDB answered 200 but says inside ``results`` that the statement failed.

    ``setup``: the database is missing, which is the server's set-up, not the point's fault.
    """

    def __init__(self, message: str, *, setup: bool) -> None:
        super().__init__(message)
        self.setup = setup


def influxql_outcome(body: bytes) -> None:
    """Raise :class:`QueryRefused` unless a DELETE's answer says it ran.

    A DELETE that ran answers ``{"results":[{"statement_id":0}]}``. Errors come inside a result; a server that
    answers with rows (VictoriaMetrics answers every /query with a list of databases) did not run it.
    """
    try:
        document = json.loads(body or b"{}")
        results = document.get("results") or []
    except (ValueError, AttributeError) as err:
        raise QueryRefused(f"unreadable answer to a DELETE: {body[:200]!r}", setup=False) from err
    if isinstance(document.get("error"), str):
        raise QueryRefused(document["error"], setup=False)
    if len(results) != 1 or not isinstance(results[0], dict):
        raise QueryRefused(f"unexpected answer to a DELETE: {body[:200]!r}", setup=False)
    error = results[0].get("error")
    if isinstance(error, str):
        raise QueryRefused(error, setup=error.startswith(DATABASE_NOT_FOUND))
    if "series" in results[0]:
        raise QueryRefused("the server answered the DELETE with rows, so it did not run it (not InfluxDB 1.x?)",
                           setup=False)


def rfc3339_ns(time_ns: int) -> str:
    """``2026-11-26T12:00:00.123456789Z``: exact to the nanosecond (a datetime holds microseconds only)."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def v2_delete_request(key: PointKey) -> dict[str, str]:
    """The JSON body of ``POST /api/v2/delete`` for this point (see the module docstring for the range)."""
    quoted = [f'_measurement="{_escape_predicate(key.measurement)}"']
    quoted += [f'"{_escape_predicate(k)}"="{_escape_predicate(v)}"' for k, v in sorted(key.tags.items()) if v]
    return {"start": rfc3339_ns(key.time_ns), "stop": rfc3339_ns(key.time_ns + 1), "predicate": " AND ".join(quoted)}


def _escape_predicate(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
