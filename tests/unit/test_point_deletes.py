"""Deleting single InfluxDB points: the requests each API gets, and the forwarder keeping deletes in their place.

The real servers' side is in tests/integration/test_influx_transports.py (InfluxDB 1.6, VictoriaMetrics, stubs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from replens.config.influxdb import InfluxConfig
from replens.errors import TransientError
from replens.hub.journal import Journal, PointOp
from replens.hub.journal.outgoing import queue_delete, queue_point
from replens.hub.storage.deletes import QueryRefused, influxql_delete, influxql_outcome, rfc3339_ns, v2_delete_request
from replens.hub.storage.forwarder import Forwarder
from replens.hub.storage.points import PointKey
from replens.hub.storage.transports import WriteRejected

KEY = PointKey("set", {"agent": "rack_1", "station": "bench", "exercise": "bench_press"}, 1_764_158_400_123_456_789)


def test_influxql_delete_names_the_series_and_the_exact_time() -> None:
    assert influxql_delete(KEY) == (
        "DELETE FROM \"set\" WHERE \"agent\"='rack_1' AND \"exercise\"='bench_press' AND \"station\"='bench' "
        "AND time = 1764158400123456789")
    odd = PointKey('a "b"', {"k'ey": "it's \\"}, 5)
    assert influxql_delete(odd) == "DELETE FROM \"a \\\"b\\\"\" WHERE \"k'ey\"='it\\'s \\\\' AND time = 5"


@pytest.mark.parametrize(("body", "setup", "message"), [
    (b'{"results":[{"statement_id":0,"error":"database not found: gym"}]}', True, "database not found"),
    (b'{"results":[{"statement_id":0,"error":"shard is read-only"}]}', False, "read-only"),
    (b'{"error":"error parsing query: found EOF"}', False, "error parsing query"),
    (b'{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["_internal"]]}]}]}',
     False, "did not run it"),
    (b"<html>proxy</html>", False, "unreadable"),
    (b'{"results":[]}', False, "unexpected"),
])
def test_influxql_outcome_finds_failures_inside_a_200(body: bytes, setup: bool, message: str) -> None:
    with pytest.raises(QueryRefused, match=message) as caught:
        influxql_outcome(body)
    assert caught.value.setup is setup


def test_influxql_outcome_accepts_a_delete_that_ran() -> None:
    influxql_outcome(b'{"results":[{"statement_id":0}]}\n')


def test_v2_delete_covers_the_point_whatever_the_server_does_with_stop() -> None:
    assert rfc3339_ns(1_764_158_400_123_456_789) == "2025-11-26T12:00:00.123456789Z"
    assert rfc3339_ns(5) == "1970-01-01T00:00:00.000000005Z"
    assert v2_delete_request(KEY) == {
        "start": "2025-11-26T12:00:00.123456789Z", "stop": "2025-11-26T12:00:00.123456790Z",
        "predicate": '_measurement="set" AND "agent"="rack_1" AND "exercise"="bench_press" AND "station"="bench"'}


def test_point_keys_survive_the_journal() -> None:
    assert PointKey.from_json(KEY.to_json()) == KEY


class Writer:
    """Records what it is asked, in order; ``refuse`` maps a point's time to what its delete raises."""

    def __init__(self, refuse: dict[int, Exception] | None = None) -> None:
        self.calls: list[tuple[str, object]] = []
        self.refuse = refuse or {}

    def write(self, lines: Sequence[str]) -> None:
        self.calls.append(("write", list(lines)))

    def delete(self, key: PointKey) -> None:
        self.calls.append(("delete", key.time_ns))
        error = self.refuse.pop(key.time_ns, None)
        if error is not None:
            raise error

    def close(self) -> None:
        pass


def queued(path: Path, *entries: str | int) -> Journal:
    """A journal with these queued, in order: a string is a point to write, a number a delete at that time."""
    journal = Journal(path)
    with journal._lock, journal._transaction():
        for entry in entries:
            if isinstance(entry, str):
                queue_point(journal._db, entry)
            else:
                queue_delete(journal._db, PointKey("set", {"agent": "a"}, entry))
    return journal


def forward(journal: Journal, writer: Writer) -> Forwarder:
    """Run a forwarder until the queue is empty (failures back off from 0.5 s, as in the hub)."""
    forwarder = Forwarder(journal, InfluxConfig(api_version=1, database="d", flush_interval_s=0.0), writer,
                          poll_s=0.05)

    async def scenario() -> None:
        task = asyncio.create_task(forwarder.run())
        try:
            async with asyncio.timeout(20):
                while journal.points_depth()[0]:  # noqa: ASYNC110 (the queue is in SQLite: nothing to await)
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()

    asyncio.run(scenario())
    return forwarder


def test_deletes_keep_their_place_in_the_queue(tmp_path: Path) -> None:
    """squat written, squat deleted, lunge written, lunge deleted, squat written: the set must end as squat."""
    journal = queued(tmp_path / "j.sqlite3", "m v=1 1", "m v=2 2", 1, "m v=3 3", 3, "m v=4 4")
    assert [p.op for p in journal.pending_points(10)] == [PointOp.WRITE] * 2 + [PointOp.DELETE, PointOp.WRITE,
                                                                                 PointOp.DELETE, PointOp.WRITE]
    writer = Writer()
    forwarder = forward(journal, writer)
    assert writer.calls == [("write", ["m v=1 1", "m v=2 2"]), ("delete", 1), ("write", ["m v=3 3"]),
                            ("delete", 3), ("write", ["m v=4 4"])]
    assert (forwarder.written, forwarder.deleted, forwarder.rejected) == (4, 2, 0)


def test_a_delete_refused_for_good_is_set_aside_and_the_rest_goes_on(tmp_path: Path) -> None:
    journal = queued(tmp_path / "j.sqlite3", 1, "m v=2 2")
    writer = Writer({1: WriteRejected("InfluxDB 3 cannot delete a single point")})
    forwarder = forward(journal, writer)
    assert writer.calls == [("delete", 1), ("write", ["m v=2 2"])]
    assert forwarder.rejected == 1
    (op, reason) = journal._db.execute("SELECT op, reason FROM influx_rejected").fetchone()
    assert (op, reason) == ("delete", "InfluxDB 3 cannot delete a single point")


@pytest.mark.parametrize("error", [TransientError("InfluxDB answered 503"),
                                   WriteRejected("database not found: d", status=404)])
def test_a_delete_that_may_work_later_is_retried_before_anything_after_it(tmp_path: Path, error: Exception) -> None:
    journal = queued(tmp_path / "j.sqlite3", 1, "m v=2 2")
    writer = Writer({1: error})
    forwarder = forward(journal, writer)
    assert writer.calls == [("delete", 1), ("delete", 1), ("write", ["m v=2 2"])]
    assert (forwarder.failures, forwarder.deleted, forwarder.rejected) == (1, 1, 0)
