"""A member's body weight: the load of their bodyweight exercises, plus what the station says was added."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from replens.cli.main import main
from replens.config import load_config
from replens.contract import Exercise, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal
from replens.members import MembersStore

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def pull_ups(number: int, member: str, added_kg: float | None, reps: int = 8) -> SetEvent:
    start = START + timedelta(minutes=5 * number)
    return SetEvent(agent_id="a1", seq=number, set_id=f"a1.bar.{number}", station="bar", exercise=Exercise.PULL_UP,
                    event=SetPhase.END, reps=reps, started_at=start, ended_at=start + timedelta(seconds=30),
                    weight_kg=added_kg, member=member)


def set_fields(journal: Journal) -> list[dict[str, str]]:
    pending = journal.pending_points(1000)
    journal.points_written([p.id for p in pending])
    return [dict(f.split("=", 1) for f in p.line.rsplit(" ", 1)[0].split(" ", 1)[1].split(",") if '"' not in f)
            for p in pending if p.line.startswith("set,")]


@pytest.fixture
def gym(tmp_path: Path) -> tuple[Path, str]:
    config = tmp_path / "replens.yaml"
    config.write_text(json.dumps({"version": 1, "data_dir": str(tmp_path / "data")}))
    loaded = load_config(config, env={})
    with MembersStore(loaded.members_db()) as store:
        ann = store.add("Ann Lee", [np.random.default_rng(0).normal(size=128)], consent=True).id
    Journal(loaded.journal_path()).close()
    return config, ann


def test_body_weight_plus_added_load_is_what_a_pull_up_lifts(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    assert main(["members", "set", "ann lee", "--body-weight", "176.4", "--unit", "lb", "--config", str(config)]) == 0
    assert "Ann Lee: body weight 176.4 lb (80.014 kg)" in capsys.readouterr().out
    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[pull_ups(1, ann, None), pull_ups(2, ann, 10.0, reps=5)]))
    first, second = set_fields(journal)
    assert (first["lifted_kg"], first["volume_kg"], "weight_kg" in first) == ("80.014", "640.112", False)
    assert (second["weight_kg"], second["lifted_kg"], second["e1rm_epley_kg"]) == ("10.0", "90.014", "105.016")
    records = journal.pending_announcements(100)
    assert [json.loads(a.payload)["load_kg"] for a in records if a.kind.value == "personal_record"] == [
        80.014, 80.014, 90.014, 90.014]  # heaviest and e1RM of the first set, then of the weighted one
    journal.close()


def test_without_a_body_weight_a_bodyweight_set_has_no_load(gym: tuple[Path, str]) -> None:
    config, ann = gym
    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[pull_ups(1, ann, 10.0)]))
    (fields,) = set_fields(journal)
    assert fields["weight_kg"] == "10.0" and "volume_kg" not in fields and "lifted_kg" not in fields
    journal.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--body-weight", "-70"], "--body-weight: a load cannot be negative"),
    (["--body-weight", "7"], "below 20 kg"),
    (["--body-weight", "5000"], "more than 2000 kg"),
])
def test_bad_body_weights_are_refused(gym: tuple[Path, str], capsys, args: list[str], message: str) -> None:
    config, _ = gym
    assert main(["members", "set", "Ann Lee", *args, "--config", str(config)]) == 1
    assert message in capsys.readouterr().err


def test_a_deleted_member_leaves_no_body_weight(gym: tuple[Path, str], tmp_path: Path) -> None:
    config, ann = gym
    path = load_config(config, env={}).journal_path()
    journal = Journal(path)
    journal.set_body_weight(ann, 80.0)
    journal.forget_member(ann)
    journal.close()
    journal_files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert journal_files and not any(ann.encode() in p.read_bytes() for p in journal_files)


def test_a_members_unit_is_set_alone_and_reads_their_body_weight(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    assert main(["members", "set", "Ann Lee", "--unit", "lb", "--config", str(config)]) == 0
    assert "Ann Lee: loads shown in lb from now on (stored in kg)" in capsys.readouterr().out
    assert main(["members", "set", "Ann Lee", "--body-weight", "176.4", "--config", str(config)]) == 0
    assert "body weight 176.4 lb (80.014 kg)" in capsys.readouterr().out  # read in Ann's unit: lb
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("lb", 80.014)
    journal.close()
    assert main(["members", "set", "Ann Lee", "--body-weight", "81", "--unit", "kg", "--config", str(config)]) == 0
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("kg", 81.0)
    journal.close()


def test_set_needs_a_unit_or_a_body_weight(gym: tuple[Path, str], capsys) -> None:
    config, _ = gym
    assert main(["members", "set", "Ann Lee", "--config", str(config)]) == 1
    assert "give --unit, --body-weight or both" in capsys.readouterr().err


def test_a_unit_other_than_kg_or_lb_is_refused_and_changes_nothing(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    with pytest.raises(SystemExit):
        main(["members", "set", "Ann Lee", "--unit", "st", "--body-weight", "12", "--config", str(config)])
    assert "argument --unit: invalid choice: 'st'" in capsys.readouterr().err
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("kg", None)
    journal.close()
