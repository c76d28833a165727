"""The page's view models and charts, and its config: pure functions over journal records."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError

from replens.config import RepLensConfig
from replens.contract import Exercise, IdentitySource, SetPhase
from replens.hub.journal import RecordedRep, RecordedSet, RepMeans
from replens.hub.web.charts import line_chart
from replens.hub.web.limits import LoginLimiter
from replens.hub.web.model import e1rm_kg, history, records, rom_cm, week_of
from replens.local_days import week_start

MONDAY = datetime(2026, 11, 30, 12, 0).astimezone()  # local midday: days are local days


def recorded(set_id: str, at: datetime, reps: int = 5, weight: float | None = 60.0,
             exercise: Exercise = Exercise.SQUAT, rom_m: float | None = None) -> RecordedSet:
    details = tuple(RecordedRep(index=i, started_at=at, ended_at=at + timedelta(seconds=3), concentric_s=1,
                                eccentric_s=2, pause_s=0, rom=150.0, rom_m=rom_m, mean_velocity_m_s=None)
                    for i in range(1, reps + 1))
    return RecordedSet(set_id=set_id, agent_id="rack", station="bench", exercise=exercise, reps=reps,
                       phase=SetPhase.END, started_at=at, ended_at=at + timedelta(seconds=30), weight_kg=weight,
                       member="m1", identity_source=IdentitySource.CLAIM, identity_score=1.0, claimed=True,
                       appearance=None, rep_details=details)


@pytest.mark.parametrize(("weight", "reps", "expected"), [(100.0, 1, 100.0), (100.0, 10, 133.3), (None, 5, None),
                                                          (80.0, 0, None)])
def test_e1rm_is_epley_and_needs_a_load(weight: float | None, reps: int, expected: float | None) -> None:
    assert e1rm_kg(weight, reps) == expected


def test_range_of_motion_is_shown_in_cm_only_when_calibrated() -> None:
    assert rom_cm(recorded("a", MONDAY, rom_m=0.45)) == 45.0
    assert rom_cm(recorded("a", MONDAY, rom_m=None)) is None  # 150 px are never shown


def test_the_week_starts_on_monday_and_groups_sets_by_day() -> None:
    sunday = MONDAY + timedelta(days=6)
    assert week_start(sunday).date() == week_start(MONDAY).date()
    week = week_of([recorded("a", MONDAY), recorded("b", MONDAY + timedelta(hours=1), weight=None),
                    recorded("c", sunday)], sunday)
    assert [len(d.sets) for d in week.days] == [1, 2]  # newest first
    assert (week.totals.sets, week.totals.reps, week.totals.volume_kg) == (3, 15, 600.0)  # no load: no volume


def test_history_and_records_per_day_and_exercise() -> None:
    sets = [recorded("a", MONDAY, 5, 60.0, rom_m=0.4), recorded("b", MONDAY + timedelta(hours=1), 10, 50.0),
            recorded("c", MONDAY + timedelta(days=2), 3, 80.0)]
    means = [RepMeans(5, 0.4, 0.5, 5), RepMeans(10, None, 0.2, 10), RepMeans(3, None, None, 0)]
    points = history(list(zip(sets, means, strict=True)))
    assert [(p.day, p.sets, p.best_e1rm_kg, p.mean_rom_cm, p.mean_velocity_m_s) for p in points] == [
        (date(2026, 11, 30), 2, 70.0, 40.0, 0.3), (date(2026, 12, 2), 1, 88.0, None, None)]  # 0.3: per rep
    (record,) = records(sets)
    assert (record.best_e1rm_kg, record.best_e1rm_set, record.heaviest_kg, record.most_reps) == (88.0, "c", 80.0, 10)


def test_a_chart_is_inline_svg_and_empty_when_nothing_was_measured() -> None:
    days = [(date(2026, 12, 1), 300.0), (date(2026, 12, 2), None), (date(2026, 12, 3), 350.0)]
    svg = line_chart("Volume", "kg", days)
    assert svg.count("<circle") == 2 and "<svg" in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert line_chart("Velocity", "m/s", [(date(2026, 12, 1), None)]) == ""


def test_the_limiter_counts_failures_per_address_in_a_window() -> None:
    now = [0.0]
    limiter = LoginLimiter(failures=2, window_s=60, clock=lambda: now[0])
    limiter.failed("a")
    assert limiter.retry_after_s("a") == 0
    limiter.failed("a")
    assert limiter.retry_after_s("a") == pytest.approx(60) and limiter.retry_after_s("b") == 0
    now[0] = 61
    assert limiter.retry_after_s("a") == 0


@pytest.mark.parametrize(("web", "problem"), [
    ({"tls_cert": "a.pem"}, "both tls_cert and tls_key"),
    ({"staff": [{"name": "desk", "password": "short"}]}, "at least 12"),
    ({"public_url": "gym.lan"}, "pattern"),
])
def test_web_config_refuses_half_setups(web: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RepLensConfig.model_validate({"hub": {"web": web}})


def test_the_page_is_off_unless_configured() -> None:
    assert RepLensConfig.model_validate({}).hub.web is None
    web = RepLensConfig.model_validate({"hub": {"web": {"port": 9000}}}).hub.web
    assert web is not None and web.base_url() == "http://127.0.0.1:9000" and not web.secure


def test_the_journal_indexes_the_pages_queries(tmp_path) -> None:
    from replens.hub.journal import Journal
    from replens.hub.journal.schema import PAGE_INDEXES

    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        db = journal._db
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert set(PAGE_INDEXES) <= names
        plan = " ".join(str(r) for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT set_id FROM sets WHERE member = ? AND exercise = ? ORDER BY started_ts",
            ("m1", "squat")))
        assert "sets_member_exercise" in plan
    finally:
        journal.close()
