"""Home Assistant's member view: a day's volume with body weight, and the estimates of 1RM per exercise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from replens.contract import EditVia, Exercise, SetEdit, SetEvent, SetPhase
from replens.hub.homeassistant.views import JournalViews
from replens.hub.journal import Inbound, Journal
from tests.unit.test_profiles import ANN, START, lifted


def dips(number: int, added_kg: float | None, reps: int) -> SetEvent:
    start = START + timedelta(minutes=5 * number)
    return SetEvent(agent_id="a1", seq=number * 100 + 99, set_id=f"a1.dip.{number}", station="dip",
                    exercise=Exercise.DIPS, event=SetPhase.END, reps=reps, started_at=start,
                    ended_at=start + timedelta(seconds=30), weight_kg=added_kg, member=ANN)


def state_of(path: Path) -> dict:
    views = JournalViews(path)
    try:
        day = START.replace(hour=0)
        return views.member_state(ANN, "Ann", present=False, day_start=day).model_dump(mode="json")
    finally:
        views.close()


def test_a_bench_profile_gives_the_velocity_e1rm_and_body_weight_counts_in_volume(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.set_body_weight(ANN, 80.0, at=START - timedelta(days=1))
    journal.record(Inbound(events=[*lifted(1, 40.0, [1.0, 0.95]), *lifted(2, 60.0, [0.76, 0.7]),
                                   *lifted(3, 80.0, [0.52, 0.45]), dips(4, 10.0, 5), dips(5, None, 8)]))
    state = state_of(path)
    # bench 40×2 + 60×2 + 80×2 = 360 kg; dips (80 + 10)×5 + 80×8 = 1,090 kg
    assert state["volume_today_kg"] == 1450.0 and state["volume_week_kg"] == 1450.0
    assert state["last_set"]["volume_kg"] == 640.0 and state["last_set"]["weight_kg"] is None
    assert state["velocity_e1rm"] == {"schema_version": 1, "exercise": "bench_press", "best_e1rm_kg": 85.3,
                                      "velocity_e1rm_kg": 110.0, "velocity_r2": 1.0, "velocity_loads": 3,
                                      "velocity_refused": None}
    assert [s["exercise"] for s in state["strength"]] == ["bench_press", "dips"]
    assert state["strength"][1]["best_e1rm_kg"] == 105.0 and state["strength"][1]["velocity_e1rm_kg"] is None
    journal.edit(SetEdit(edit_id="e1", set_id="a1.bench.3", weight_kg=45.0), EditVia.CLI)  # a typo: 45, not 80
    state = state_of(path)
    assert state["velocity_e1rm"] is None  # 40, 45 and 60 kg do not get slower with load: refused
    assert state["strength"][0]["velocity_refused"] == "poor_fit"
    journal.close()
