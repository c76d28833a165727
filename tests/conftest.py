"""Shared fixtures: real servers for integration tests, always stopped at teardown, never skipped."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.servers import InfluxDB1, Mosquitto, VictoriaMetrics

MosquittoFactory = Callable[..., Mosquitto]


def pytest_configure(config: pytest.Config) -> None:
    """Run every test, and every process it starts, at about local midday: see :func:`midday_time_zone`.

    ``REPLENS_TEST_TZ`` picks the zone instead: to rerun a failure at the offset the header reported.
    """
    os.environ["TZ"] = os.environ.get("REPLENS_TEST_TZ") or midday_time_zone(datetime.now(UTC))
    time.tzset()


def pytest_report_header(config: pytest.Config) -> str:
    local = datetime.now().astimezone()
    return (f"local time {local:%H:%M} (UTC{local:%z}), TZ={os.environ['TZ']}; "
            f"rerun at this offset with REPLENS_TEST_TZ={os.environ['TZ']}")


def midday_time_zone(now: datetime) -> str:
    """A POSIX ``TZ`` whose local time is 12:00 at ``now`` (UTC).

    Tests lift "10 minutes ago" and then read today's and this week's totals. At the machine's own local
    time such a test fails whenever it runs soon after midnight (CI did, at 00:14 UTC). Local midday leaves
    12 hours either side; midnight itself is tested on purpose, with explicit times, where it matters.
    """
    offset = (12 * 60 - (now.hour * 60 + now.minute)) % (24 * 60)
    if offset > 12 * 60:
        offset -= 24 * 60
    sign = "-" if offset >= 0 else "+"  # POSIX counts west of Greenwich as positive
    return f"RLT{sign}{abs(offset) // 60}:{abs(offset) % 60:02d}"


@pytest.fixture
def make_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoFactory]:
    """Start brokers with custom options (``persistence=True``, ``extra_config=[...]``); all stopped after."""
    started: list[Mosquitto] = []

    def make(**options: Any) -> Mosquitto:
        server = Mosquitto(tmp_path_factory.mktemp("mosquitto"), **options)
        started.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def mosquitto(make_mosquitto: MosquittoFactory) -> Mosquitto:
    """A fresh anonymous broker per test."""
    return make_mosquitto()


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1]:
    """One InfluxDB 1.x server for the session; tests isolate themselves with ``influx_db``."""
    server = InfluxDB1(tmp_path_factory.mktemp("influxdb1"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def influx_db(influxdb1: InfluxDB1) -> Iterator[tuple[InfluxDB1, str]]:
    """(server, fresh database name); brings the server back if a test left it stopped."""
    if not influxdb1.running:
        influxdb1.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    influxdb1.create_database(name)
    yield influxdb1, name
    if not influxdb1.running:
        influxdb1.start()
    influxdb1.drop_database(name)


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the session; a test that stops it must ``restart()`` it (try/finally)."""
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
