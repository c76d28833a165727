"""Local midnights: where "today" and "this week" (from Monday) begin on the gym's wall clock.

Each midnight gets its own UTC offset. Setting the hour of *now* to 0, or stepping back whole days from it,
keeps now's offset, which is an hour off on a day that daylight saving time changed: sets lifted between
midnight and 01:00 then fell out of that day's and that week's totals.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def day_start(now: datetime) -> datetime:
    """00:00 of ``now``'s local day (naive ``now`` is local time)."""
    return midnight(now.astimezone().date())


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of ``now``'s local week."""
    day = now.astimezone().date()
    return midnight(day - timedelta(days=day.weekday()))


def midnight(day: date) -> datetime:
    """The local midnight that starts ``day``, aware, with the offset in force at that moment."""
    return datetime.combine(day, time()).astimezone()
