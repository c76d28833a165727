"""``replens members`` and ``replens sets`` on real photos and real files: the commands a gym owner types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from replens.cli.main import main
from replens.config import load_config
from replens.contract import Exercise, SetEvent
from replens.hub.journal import Inbound, Journal
from replens.members import MembersStore

FACES = Path(__file__).parent.parent / "data" / "faces"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(tmp_path / "data")}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_enrol_list_rename_identify_delete(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(config_path)]
    assert run(capsys, "members", "add", "Barack", str(FACES / "obama.jpg"), "--consent", *cfg)[0] == 0
    assert run(capsys, "members", "add", "Joe", str(FACES / "biden.jpg"), "--consent", *cfg)[0] == 0

    status, out, _ = run(capsys, "members", "list", "--json", *cfg)
    listed = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and sorted(m["name"] for m in listed) == ["Barack", "Joe"]
    assert all(m["embeddings"] == 1 and m["crops"] == 0 for m in listed)  # crops are off by default

    assert run(capsys, "members", "rename", "barack", "Barack Obama", *cfg)[0] == 0
    status, out, _ = run(capsys, "members", "identify", str(FACES / "obama2.jpg"), str(FACES / "obama3.jpg"),
                         str(FACES / "biden.jpg"), "--json", *cfg)
    found = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [f["member"] for f in found] == ["Barack Obama", "Barack Obama", "Joe"]
    assert all(0 < f["score"] <= 1 and f["faces"] == 1 for f in found)

    assert run(capsys, "members", "delete", "Joe", *cfg)[0] == 0
    status, out, _ = run(capsys, "members", "identify", str(FACES / "biden.jpg"), "--json", *cfg)
    assert json.loads(out)["member"] is None
    with MembersStore(load_config(config_path, env={}).members_db()) as store:
        assert [m.name for m in store.members()] == ["Barack Obama"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["members", "add", "Ann", str(FACES / "obama.jpg")], "--consent"),
        (["members", "add", "Ann", "missing.jpg", "--consent"], "missing.jpg: no such file"),
        (["members", "rename", "Nobody", "Someone"], "Nobody"),
        (["members", "delete", "Nobody"], "Nobody"),
    ],
)
def test_clear_errors(config_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    status, _, err = run(capsys, *args, "--config", str(config_path))
    assert status == 1 and message in err


def test_bad_photos_and_duplicates(config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(config_path)]
    garbage = tmp_path / "broken.jpg"
    garbage.write_bytes(b"\xff\xd8 not really a jpeg")
    status, _, err = run(capsys, "members", "add", "Ann", str(garbage), "--consent", *cfg)
    assert status == 1 and "broken.jpg" in err and "not an image" in err

    blank = tmp_path / "wall.png"
    import cv2

    cv2.imwrite(str(blank), np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1)))
    status, _, err = run(capsys, "members", "add", "Ann", str(blank), "--consent", *cfg)
    assert status == 1 and "wall.png" in err and "no face" in err

    group = tmp_path / "group.jpg"
    left, right = cv2.imread(str(FACES / "obama.jpg")), cv2.imread(str(FACES / "biden.jpg"))
    assert left is not None and right is not None
    height = min(left.shape[0], right.shape[0])
    cv2.imwrite(str(group), np.hstack([left[:height], right[:height]]))
    status, _, err = run(capsys, "members", "add", "Ann", str(group), "--consent", *cfg)
    assert status == 1 and "2 faces" in err
    assert run(capsys, "members", "add", "Joe", str(group), "--face", "1", "--consent", *cfg)[0] == 0

    status, _, err = run(capsys, "members", "add", "JOE", str(FACES / "biden.jpg"), "--consent", *cfg)
    assert status == 1 and "Joe" in err  # names are unique, case-insensitively


def test_sets_claim_and_list(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(config_path)]
    config = load_config(config_path, env={})
    assert run(capsys, "members", "add", "Joe", str(FACES / "biden.jpg"), "--consent", *cfg)[0] == 0
    status, _, err = run(capsys, "sets", "list", *cfg)
    assert status == 1 and "no hub journal" in err

    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    event = SetEvent(agent_id="rack", seq=1, set_id="rack.bench.1", station="bench", exercise=Exercise.BENCH_PRESS,
                     event="end", reps=8, started_at=started, ended_at=started)
    journal = Journal(config.journal_path())
    journal.record(Inbound(events=[event]))
    journal.close()

    status, out, _ = run(capsys, "sets", "list", "--unattributed", "--json", *cfg)
    assert status == 0 and [json.loads(line)["set_id"] for line in out.splitlines()] == ["rack.bench.1"]
    assert run(capsys, "sets", "claim", "rack.bench.1", "joe", *cfg)[0] == 0
    status, out, _ = run(capsys, "sets", "list", "--member", "Joe", "--json", *cfg)
    claimed = json.loads(out)
    assert claimed["member"] == "Joe" and claimed["identity_source"] == "claim"

    status, _, err = run(capsys, "sets", "claim", "no.such.set", "joe", *cfg)
    assert status == 1 and "no.such.set" in err
    status, _, err = run(capsys, "sets", "claim", "rack.bench.1", *cfg)
    assert status == 1 and "--nobody" in err


def test_enrol_from_a_camera_stream(config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--camera`` takes any OpenCV source: a device index, an RTSP URL, or (here) a recorded stream."""
    import cv2

    photo = cv2.imread(str(FACES / "obama2.jpg"))
    assert photo is not None
    scale = 480 / photo.shape[0]
    frame = cv2.resize(photo, (int(photo.shape[1] * scale), 480))
    stream = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(stream), cv2.VideoWriter.fourcc(*"MJPG"), 10, (frame.shape[1], frame.shape[0]))
    for _ in range(30):
        writer.write(frame)
    writer.release()
    cfg = ["--config", str(config_path)]
    status, out, err = run(capsys, "members", "add", "Barack", "--camera", str(stream), "--frames", "3", "--consent",
                           *cfg)
    assert status == 0, err
    assert "from 3 face(s)" in out
    status, out, _ = run(capsys, "members", "identify", str(FACES / "obama3.jpg"), "--json", *cfg)
    assert json.loads(out)["member"] == "Barack"


def test_sets_edit_corrects_the_exercise_and_keeps_the_trail(config_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = ["--config", str(config_path)]
    config = load_config(config_path, env={})
    status, _, err = run(capsys, "sets", "edit", "rack.bench.1", "--exercise", "squat", *cfg)
    assert status == 1 and "no hub journal" in err

    started = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    event = SetEvent(agent_id="rack", seq=1, set_id="rack.floor.1", station="floor", exercise=Exercise.SQUAT,
                     event="end", reps=8, started_at=started, ended_at=started, exercise_confidence=0.61)
    journal = Journal(config.journal_path())
    journal.record(Inbound(events=[event]))
    queued = journal.points_depth()[0]
    journal.close()

    # Refused, and nothing changes: an unknown exercise (with a did-you-mean), auto, an unknown or malformed set.
    for args, message in ((["rack.floor.1", "--exercise", "lunges"], "did you mean 'lunge'"),
                          (["rack.floor.1", "--exercise", "auto"], "unknown exercise 'auto'"),
                          (["rack.floor.2", "--exercise", "lunge"], "no set 'rack.floor.2'"),
                          (["rack floor", "--exercise", "lunge"], "set 'rack floor': set_id")):
        status, _, err = run(capsys, "sets", "edit", *args, *cfg)
        assert status == 1 and message in err, err
    journal = Journal(config.journal_path())
    assert journal.points_depth()[0] == queued and journal.set_edits("rack.floor.1") == []
    journal.close()

    status, out, _ = run(capsys, "sets", "edit", "rack.floor.1", "--exercise", "Lunge", "--by", "coach", *cfg)
    assert status == 0 and out == "set rack.floor.1: exercise squat → lunge; the camera recognised squat (0.61)\n"
    status, out, _ = run(capsys, "sets", "list", "--json", *cfg)
    listed = json.loads(out)
    assert (listed["exercise"], listed["recognised_exercise"], listed["exercise_confidence"], listed["edited"]) == (
        "lunge", "squat", 0.61, ["exercise"])
    status, out, _ = run(capsys, "sets", "edit", "rack.floor.1", "--exercise", "lunge", *cfg)
    assert status == 0 and "stays lunge" in out
    status, out, _ = run(capsys, "sets", "edits", "rack.floor.1", "--json", *cfg)
    trail = [json.loads(line) for line in out.splitlines()]
    assert [(t["old"], t["new"], t["via"]) for t in trail] == [("squat", "lunge", "cli"), ("lunge", "lunge", "cli")]
    assert trail[0]["by"] == "coach" and trail[0]["edit_id"].startswith("cli-")
    journal = Journal(config.journal_path())
    assert journal.points_depth()[0] == queued + 2  # the old point's delete and the new point: the hub sends them
    journal.close()
    status, _, err = run(capsys, "sets", "edits", "rack.floor.9", *cfg)
    assert status == 1 and "no set 'rack.floor.9'" in err
