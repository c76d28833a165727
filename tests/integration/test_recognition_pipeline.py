"""A multi-use station through the real agent, Mosquitto, hub and InfluxDB: the recognised exercise is the tag.

The pose model's output is replayed from generated landmarks, because no openly licensed video of a person
exercising may ship in this repository. Everything after it is real: decoded video frames, the station's
recognising counter, the set assembler, the outbox, the publisher, the broker, the hub's journal and InfluxDB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from replens.device_agent.app import Agent
from replens.device_agent.trackers.registry import PosePipeline
from replens.hub.runner import HubThread
from tests.integration.harness import wait_for, write_config
from tests.unit.test_pose_engine import FPS, squat_clip
from tests.unit.test_station_recognition import Replay

pytestmark = pytest.mark.integration

HOSTS = ["squat", "push_up", "bench_press", "overhead_press"]


def blank_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (640, 480))
    image = np.full((480, 640, 3), 40, np.uint8)
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return path


def test_a_multi_use_station_tags_each_set_with_the_recognised_exercise(tmp_path, mosquitto, influx_db):
    server, db = influx_db
    landmarks, _ = squat_clip(8, missing=0.02, seed=4)
    video = blank_video(tmp_path / "rack.mp4", len(landmarks))
    agent_section = {"source": {"url": str(video), "realtime": False},
                     "stations": {"rack": {"exercise": HOSTS, "tracker": {"type": "pose"}}}}
    _, config = write_config(tmp_path, mosquitto, influx_db, agents={"cam_1": agent_section})
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        agent = Agent("cam_1", config.agents["cam_1"], config.mqtt, config.agent_data_dir("cam_1"))
        station = agent.stations[0]
        station_config = config.agents["cam_1"].stations["rack"]
        station.pipeline = PosePipeline(station_config.tracker, station_config, tracker=Replay(landmarks))  # type: ignore[arg-type]
        summary = agent.run(drain_timeout_s=30)
        assert summary.drained
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 30, "every point in InfluxDB")
        (recorded,) = hub.journal.sets()
    finally:
        hub_thread.stop()

    (counted,) = summary.sets
    assert (counted.exercise.value, len(counted.reps)) == ("squat", 8)
    assert (recorded.exercise.value, recorded.reps, recorded.ended) == ("squat", 8, True)
    sets = server.rows('SELECT "reps", "set_id", "ended", "exercise" FROM "set"', db)
    assert [(row["exercise"], row["reps"], row["ended"]) for row in sets] == [("squat", 8, True)]  # one point
    reps = server.rows('SELECT "index", "exercise" FROM "rep"', db)
    assert sorted(r["index"] for r in reps) == list(range(1, 9))
    assert {r["exercise"] for r in reps} == {"squat"}
