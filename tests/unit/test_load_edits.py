"""Corrections of a set's load and reps: the agent's values kept beside them, the point rewritten in place, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from replens.cli.main import main
from replens.contract import EditVia, Exercise, SetEdit, SetEvent, SetField, SetPhase
from replens.hub.journal import ForgottenMemberSetError, Inbound, Journal, PointOp

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SET_ID = "a1.rack.1795683600000"


def set_event(seq: int, phase: SetPhase, reps: int, weight_kg: float | None = 60.0,
              member: str | None = None) -> SetEvent:
    return SetEvent(agent_id="a1", seq=seq, set_id=SET_ID, station="rack", exercise=Exercise.BENCH_PRESS, event=phase,
                    reps=reps, started_at=START, weight_kg=weight_kg, member=member,
                    ended_at=START + timedelta(seconds=30) if phase is SetPhase.END else None)


def written_fields(journal: Journal) -> list[dict[str, str]]:
    """The fields of every set point queued for InfluxDB (then marked written)."""
    pending = journal.pending_points(1000)
    journal.points_written([p.id for p in pending])
    found = []
    for point in pending:
        if point.op is PointOp.WRITE and point.line.startswith("set,"):
            fields = point.line.rsplit(" ", 1)[0].split(" ", 1)[1]
            found.append(dict(f.split("=", 1) for f in fields.split(",") if "=" in f and '"' not in f))
    return found


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    found = Journal(tmp_path / "j.sqlite3")
    found.record(Inbound(events=[set_event(1, SetPhase.NEW, 1), set_event(2, SetPhase.END, 5)]))
    written_fields(found)
    return found


def test_an_edit_of_load_and_reps_rewrites_the_point_and_keeps_the_cameras_values(journal: Journal) -> None:
    change = SetEdit(edit_id="e1", set_id=SET_ID, weight_kg=62.5, reps=6, by="coach")
    outcome = journal.edit(change, EditVia.MQTT)
    assert [(c.field, c.old, c.new) for c in outcome.changes] == [(SetField.WEIGHT_KG, 60.0, 62.5),
                                                                  (SetField.REPS, 5, 6)]
    (point,) = written_fields(journal)
    assert (point["weight_kg"], point["volume_kg"], point["reps"]) == ("62.5", "375.0", "6i")
    (stored,) = journal.sets_by_id([SET_ID])
    assert (stored.weight_kg, stored.reps, stored.agent_weight_kg, stored.counted_reps) == (62.5, 6, 60.0, 5)
    assert stored.edited == {SetField.WEIGHT_KG, SetField.REPS} and stored.volume_kg == 375.0
    said = outcome.announcement
    assert said is not None and (said.weight_kg, said.reps, said.agent_weight_kg, said.counted_reps) == (62.5, 6,
                                                                                                       60.0, 5)
    assert journal.edit(change, EditVia.MQTT).duplicate and written_fields(journal) == []  # once per edit id
    assert [(t.field, t.old, t.new, t.by) for t in journal.set_edits(SET_ID)] == [
        (SetField.WEIGHT_KG, 60.0, 62.5, "coach"), (SetField.REPS, 5, 6, "coach")]


def test_the_agents_later_event_keeps_the_correction(journal: Journal) -> None:
    journal.edit(SetEdit(edit_id="e1", set_id=SET_ID, weight_kg=70.0), EditVia.CLI)
    written_fields(journal)
    journal.record(Inbound(events=[set_event(3, SetPhase.END, 5, weight_kg=40.0)]))  # the agent sends its end again
    (stored,) = journal.sets_by_id([SET_ID])
    assert (stored.weight_kg, stored.agent_weight_kg) == (70.0, 40.0)
    assert [p["weight_kg"] for p in written_fields(journal)] == ["70.0"]  # the point, rewritten, keeps it too


@pytest.mark.parametrize(("fields", "message"), [
    ({"weight_kg": -1}, "weight_kg"), ({"weight_kg": 2500}, "weight_kg"), ({"reps": -2}, "reps"),
    ({}, "an edit must change something"),
])
def test_bad_edits_name_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SetEdit.model_validate({"edit_id": "e1", "set_id": SET_ID, **fields})


def test_the_set_of_a_deleted_member_refuses_edits(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 5, member="m0a1b2c3d4e")]))
    journal.forget_member("m0a1b2c3d4e")
    written_fields(journal)
    with pytest.raises(ForgottenMemberSetError, match="a deleted member's"):
        journal.edit(SetEdit(edit_id="e1", set_id=SET_ID, reps=3), EditVia.CLI)
    assert written_fields(journal) == [] and journal.set_edits(SET_ID) == []
    assert journal.sets_by_id([SET_ID])[0].reps == 5


def test_cli_edits_load_in_pounds_and_reps_and_refuses_nonsense(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                 ) -> None:
    config = tmp_path / "replens.yaml"
    config.write_text(json.dumps({"version": 1, "data_dir": str(tmp_path / "data")}))
    from replens.config import load_config

    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 5)]))
    journal.close()
    args = ["sets", "edit", SET_ID, "--config", str(config)]
    assert main([*args, "--load", "-3"]) == 1 and "--load: a load cannot be negative" in capsys.readouterr().err
    assert main([*args, "--reps", "4", "--load", "5000"]) == 1  # nothing written, the reps neither
    assert main([*args, "--exercise", "benchpress"]) == 1 and "did you mean 'bench_press'" in capsys.readouterr().err
    assert main(["sets", "edit", "a1.rack.1", "--reps", "3", "--config", str(config)]) == 1
    assert main(args) == 1 and "give what to correct" in capsys.readouterr().err
    assert main([*args, "--load", "135", "--unit", "lb", "--reps", "6"]) == 0
    out = capsys.readouterr().out
    assert "weight_kg 60.0 → 61.235; the station's load was 60.0" in out and "reps 5 → 6; the camera counted 5" in out
    journal = Journal(load_config(config, env={}).journal_path())
    (stored,) = journal.sets_by_id([SET_ID])
    assert (stored.weight_kg, stored.reps, len(journal.set_edits(SET_ID))) == (61.235, 6, 2)
    journal.close()
