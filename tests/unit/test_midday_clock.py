"""The suite runs at local midday (tests/conftest.py): the time zone that puts it there, at every UTC time."""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import midday_time_zone


@pytest.fixture
def restore_tz() -> Iterator[None]:
    before = os.environ["TZ"]
    try:
        yield
    finally:
        os.environ["TZ"] = before
        time.tzset()


def test_every_minute_of_a_day_becomes_local_midday(restore_tz: None) -> None:
    start = datetime(2026, 12, 7, tzinfo=UTC)
    for minute in range(0, 24 * 60, 7):
        now = start + timedelta(minutes=minute)
        os.environ["TZ"] = midday_time_zone(now)
        time.tzset()
        local = now.astimezone()
        assert (local.hour, local.minute) == (12, 0), (now, os.environ["TZ"])
        assert abs(local.utcoffset() or timedelta()) <= timedelta(hours=12)


def test_this_run_is_at_local_midday_or_the_zone_asked_for() -> None:
    """Set before collection, so it holds here and in every process the tests start (they inherit TZ)."""
    asked = os.environ.get("REPLENS_TEST_TZ")
    if asked:
        assert os.environ["TZ"] == asked
    else:
        assert 12 <= datetime.now().astimezone().hour <= 13
