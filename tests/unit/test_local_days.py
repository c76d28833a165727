"""Where today and this week begin, on days that daylight saving time changes (EU rules, no tzdata needed)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from replens.local_days import day_start, midnight, week_start

BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"  # POSIX: +01:00, +02:00 from the last Sunday of March to that of October


@pytest.fixture
def berlin() -> Iterator[None]:
    before = os.environ["TZ"]
    os.environ["TZ"] = BERLIN
    time.tzset()
    try:
        yield
    finally:
        os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize(("now", "day", "week"), [
    # Sunday 25 Oct 2026, noon CET: the day and the week (from Monday 19 Oct) began in CEST, at 22:00 UTC
    (datetime(2026, 10, 25, 11, 0, tzinfo=UTC), datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
     datetime(2026, 10, 18, 22, 0, tzinfo=UTC)),
    # Sunday 29 Mar 2026, noon CEST: the day and the week (from Monday 23 Mar) began in CET, at 23:00 UTC
    (datetime(2026, 3, 29, 10, 0, tzinfo=UTC), datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
     datetime(2026, 3, 22, 23, 0, tzinfo=UTC)),
    # an ordinary Wednesday in winter
    (datetime(2026, 12, 9, 15, 30, tzinfo=UTC), datetime(2026, 12, 8, 23, 0, tzinfo=UTC),
     datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
])
def test_midnights_carry_their_own_offset(berlin: None, now: datetime, day: datetime, week: datetime) -> None:
    assert day_start(now) == day and week_start(now) == week
    assert day_start(now).astimezone().hour == 0 and week_start(now).astimezone().weekday() == 0


def test_a_set_lifted_after_midnight_on_the_day_the_clocks_go_back_is_today(berlin: None) -> None:
    lifted = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 00:30 CEST, Sunday
    assert day_start(datetime(2026, 10, 25, 11, 0, tzinfo=UTC)) <= lifted
    old_way = datetime(2026, 10, 25, 11, 0, tzinfo=UTC).astimezone().replace(hour=0, minute=0)
    assert old_way > lifted  # what the hub did before: this set fell out of the day


def test_midnight_of_a_date_is_aware_and_local() -> None:
    day = datetime.now().astimezone().date()
    start = midnight(day)
    assert start.tzinfo is not None and start.astimezone().date() == day and start.astimezone().hour == 0
