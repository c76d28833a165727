"""The CLI as a user runs it: real subprocesses, real files, real decoded video."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from replens.cli.demo import sample_clip

ROOT = Path(__file__).resolve().parents[2]


def replens(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "replens.cli.main", *args], capture_output=True, text=True,
                          timeout=180, check=False, cwd=cwd)


def test_demo_json_reports_exactly_the_clips_reps():
    result = replens("demo", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)  # nothing but JSON on stdout
    assert [s["reps"] for s in output["sets"]] == [6, 4] == output["expected_reps"]
    assert output["total_reps"] == 10
    assert output["delivery"] is None


def test_help_lists_every_command():
    result = replens("--help")
    for command in ("demo", "config", "agent", "hub", "count", "stack", "docs"):
        assert command in result.stdout


def test_config_check_valid_and_broken(tmp_path):
    ok = replens("config", "check", str(ROOT / "config" / "demo.yaml"))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nmqtt:\n  port: seventy\n")
    bad = replens("config", "check", str(broken))
    assert bad.returncode == 2
    assert f"{broken}:3: mqtt -> port:" in bad.stderr
    assert "(got: 'seventy')" in bad.stderr


def test_count_video_and_signal_files(tmp_path):
    clip = sample_clip()
    roi = ",".join(str(v) for v in clip.truth["roi"])
    t = np.arange(0, 30, 1 / 20)
    position = np.where((t > 2) & (t < 22), 50 * (1 - np.cos(2 * math.pi * (t - 2) / 4)) / 2, 0.0)  # 5 reps
    csv = tmp_path / "signal.csv"
    np.savetxt(csv, np.column_stack([t, position]), delimiter=",", header="t_s,position", comments="")
    npy = tmp_path / "signal.npy"
    np.save(npy, np.column_stack([t, position]))
    result = replens("count", str(clip.path), str(csv), str(npy), "--json", "--roi", roi, "--set-rest", "5")
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["input"] for o in outputs] == [str(clip.path), str(csv), str(npy)]
    assert [o["reps"] for o in outputs] == [10, 5, 5]
    assert [s["reps"] for s in outputs[0]["sets"]] == [6, 4]


def test_count_bad_inputs_name_the_file(tmp_path):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video")
    missing = tmp_path / "missing.mp4"
    result = replens("count", str(not_video), str(missing), "--json")
    assert result.returncode == 1
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert str(not_video) in outputs[0]["error"] and str(missing) in outputs[1]["error"]


@pytest.mark.parametrize(("args", "message"), [
    (["--exercise", "yoga"], "unknown exercise 'yoga'"),
    (["--exercise", "squat,benchpress"], "unknown exercise 'benchpress'; did you mean 'bench_press'?"),
    (["--exercise", "squat,auto"], "auto cannot be in a list"),
    (["--roi", "1,2"], "roi"),
])
def test_count_bad_options(tmp_path, args, message):
    result = replens("count", str(tmp_path / "x.csv"), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_stack_init_generates_secrets_and_a_broker_password_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert replens("stack", "init", "--dir", str(tmp_path)).returncode == 0
    env = (tmp_path / ".env").read_text()
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0  # owner only
    values = dict(line.split("=", 1) for line in env.splitlines())
    assert len(values["MQTT_HUB_PASSWORD"]) >= 24 and values["MQTT_HUB_PASSWORD"] != values["INFLUXDB_TOKEN"]
    passwd = (tmp_path / "config/mosquitto/passwd").read_text()
    assert passwd.startswith("hub:$7$101$") and "agent-demo:$7$" in passwd
    assert values["MQTT_HUB_PASSWORD"] not in passwd
    again = replens("stack", "init", "--dir", str(tmp_path))
    assert again.returncode == 0 and (tmp_path / ".env").read_text() == env  # keeps existing secrets


def test_docs_are_up_to_date():
    result = replens("docs", "--check", "--dir", str(ROOT / "docs"))
    assert result.returncode == 0, result.stdout


def test_count_pose_series_and_bar_track_files(tmp_path):
    """The recorded formats of the evaluation data: a 99-column pose .npy and a t,x,y bar track .csv."""
    from tests.unit.test_pose_engine import squat_clip
    from tests.unit.test_trajectory_engine import Path as BarPath
    from tests.unit.test_trajectory_engine import reps as bar_reps
    from tests.unit.test_trajectory_engine import video

    frames, times = squat_clip(7, seed=5)
    fps = 1.0 / float(np.median(np.diff(times)))
    rows = np.nan_to_num(frames[:, :, :3].reshape(len(frames), -1))
    pose = tmp_path / "squat.npy"
    np.save(pose, np.column_stack([rows, np.zeros((len(rows), 5))]))  # 104 columns: 99 + 5 ignored
    track = video(bar_reps(BarPath().hold(2.0), 5, low=False), noise_px=0.5)
    bar = tmp_path / "bar.csv"
    bar.write_text("t,x,y,plate_w\n" + "".join(f"{t},{x},{y},{p}\n" for t, x, y, p in track))
    result = replens("count", str(pose), "--fps", f"{fps}", "--exercise", "squat", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reps"] == 7
    result = replens("count", str(bar), "--exercise", "squat", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["reps"] == 5
    rep = out["sets"][0]["rep_times"][0]
    assert rep["start_s"] < rep["turn_s"] < rep["end_s"] and rep["mean_velocity_m_s"] > 0.3
    missing_fps = replens("count", str(pose), "--json")
    assert missing_fps.returncode == 1 and "--fps" in json.loads(missing_fps.stdout)["error"]


def test_count_video_with_the_pose_tracker_runs_real_inference():
    """BlazePose on OpenVINO over a real decoded video: a weight stack with no lifter gives no reps."""
    clip = sample_clip()
    result = replens("count", str(clip.path), "--tracker", "pose", "--exercise", "squat", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["reps"] == 0 and output["frames"] == clip.truth["frames"]
    assert "compiled on CPU (precision f32)" in result.stderr


def test_count_annotate_writes_a_decodable_video(tmp_path):
    import cv2

    clip = sample_clip()
    out = tmp_path / "annotated.mp4"
    roi = ",".join(str(v) for v in clip.truth["roi"])
    result = replens("count", str(clip.path), "--roi", roi, "--set-rest", "5", "--annotate", str(out), "--json")
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(out))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 300)
    ok, image = capture.read()
    capture.release()
    assert frames == clip.truth["frames"] and ok
    original = cv2.VideoCapture(str(clip.path))
    original.set(cv2.CAP_PROP_POS_FRAMES, 300)
    _, plain = original.read()
    original.release()
    assert float(abs(image[8:86, 8:300].astype(int) - plain[8:86, 8:300].astype(int)).mean()) > 20  # the panel
    bad = replens("count", str(clip.path), str(clip.path), "--annotate", str(out))
    assert bad.returncode == 2 and "exactly one video" in bad.stderr


def test_count_names_each_sets_exercise_among_candidates(tmp_path):
    """``--exercise a,b,c``: each set gets the exercise recognised among them, with its confidence."""
    from tests.unit.test_pose_engine import squat_clip

    frames, times = squat_clip(7, seed=5)
    fps = 1.0 / float(np.median(np.diff(times)))
    pose = tmp_path / "squat.npy"
    np.save(pose, np.nan_to_num(frames[:, :, :3].reshape(len(frames), -1)))
    listed = replens("count", str(pose), "--fps", f"{fps}", "--exercise", "squat,push_up,bench_press,pull_up", "--json")
    assert listed.returncode == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert (out["exercise"], out["reps"]) == ("squat", 7)
    assert 0.5 < out["exercise_confidence"] <= 1.0
    (counted,) = out["sets"]
    assert (counted["exercise"], counted["exercise_confidence"]) == ("squat", out["exercise_confidence"])
    assert counted["runner_up"] in {"push_up", "bench_press", "pull_up"} and 0 <= counted["runner_up_confidence"] < 0.5
    named = json.loads(replens("count", str(pose), "--fps", f"{fps}", "--exercise", "squat", "--json").stdout)
    assert (named["exercise"], named["exercise_confidence"], named["reps"]) == ("squat", 1.0, 7)
    assert "runner_up" not in named["sets"][0]
    table = replens("count", str(pose), "--fps", f"{fps}", "--exercise", "squat,push_up")
    assert table.returncode == 0 and "squat (" in table.stdout
