"""Entrance camera end to end: members enrolled with the CLI from real photos, a real decoded video of
other photos of them, the agent's face pipeline (BlazeFace on OpenVINO, dlib descriptors), a real
Mosquitto, the hub's presence and its attribution of a later set."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.cli.main import main
from replens.contract import EnrolCommand, EnrolResult, Presence, SetAttribution
from replens.device_agent.app import Agent
from replens.hub.runner import HubThread
from replens.members import MembersStore
from tests.integration.harness import Producer, wait_for, write_config

pytestmark = pytest.mark.integration

FACES = Path(__file__).parent.parent / "data" / "faces"
FPS = 10


def frame_of(photo: Path, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """The photo letterboxed into a camera-sized frame."""
    image = cv2.imread(str(photo))
    assert image is not None, photo
    w, h = size
    scale = min(w / image.shape[1], h / image.shape[0])
    resized = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
    frame = np.zeros((h, w, 3), np.uint8)
    y, x = (h - resized.shape[0]) // 2, (w - resized.shape[1]) // 2
    frame[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return frame


def write_visits_video(path: Path) -> None:
    """Obama walks in (two different photos, 2 s each), nobody for 4 s, then Biden (not enrolled) for 3 s."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (640, 480))
    rng = np.random.default_rng(1)
    empty = np.full((480, 640, 3), 40, np.uint8)
    scenes = [(frame_of(FACES / "obama2.jpg"), 2), (frame_of(FACES / "obama3.jpg"), 2), (empty, 4),
              (frame_of(FACES / "biden.jpg"), 3), (empty, 4)]
    for image, seconds in scenes:
        for _ in range(seconds * FPS):
            noise = rng.integers(-3, 4, image.shape, dtype=np.int16)  # sensor noise: no two frames alike
            writer.write(np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    writer.release()


def test_entrance_video_gives_presence_and_attributes_the_next_set(tmp_path, mosquitto, influx_db):
    video = tmp_path / "entrance.mp4"
    write_visits_video(video)
    agents = {"door": {"source": {"url": str(video), "realtime": False},
                       "entrance": {"camera": "front", "process_fps": 5, "appearance": False}}}
    path, config = write_config(tmp_path, mosquitto, influx_db, agents=agents,
                                extra={"identity": {"face": {"visit_gap_s": 2.0, "min_agreeing_frames": 3}}})
    assert main(["members", "add", "Barack Obama", str(FACES / "obama.jpg"), "--consent", "--config", str(path)]) == 0
    with MembersStore(config.members_db()) as store:
        obama = store.get("barack obama").id

    presences: list[Presence] = []
    attributions: list[SetAttribution] = []
    topics = config.mqtt.topics
    watcher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda _c, _u, m: (
        presences.append(Presence.model_validate_json(m.payload)) if m.topic == topics.presence
        else attributions.append(SetAttribution.model_validate_json(m.payload))
    )
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.subscribe([(topics.presence, 1), (topics.hub_sets, 1)])
    watcher.loop_start()
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "rack", tmp_path / "rack")
    try:
        agent = Agent("door", config.agents["door"], config.mqtt, config.agent_data_dir("door"),
                      identity=config.identity, members_db=config.members_db())
        summary = agent.run(drain_timeout_s=30)
        assert summary.drained
        visits = hub.journal.visits_between(*_whole_day())
        named = [v for v in visits if v.member is not None]
        print(f"\nvisits: {[(v.member, round(v.score, 2), v.camera) for v in visits]}")
        assert [v.member for v in named] == [obama], "Obama's photos must make one visit that names him"
        assert named[0].score > 0.2
        assert len(visits) == 2 and any(v.member is None for v in visits), "Biden is not enrolled: unknown"
        wait_for(lambda: any(m.member == obama for p in presences for m in p.members), 10, "Obama present")
        assert presences[-1].members[0].name == "Barack Obama"
        assert presences[-1].members[0].camera == "front"
        server, db = influx_db
        counts = lambda: [row["members"] for row in server.rows('SELECT "members" FROM "presence"', db)]  # noqa: E731
        wait_for(lambda: counts()[-1:] == [1], 10, "the head count in InfluxDB")
        assert counts() == [0, 1]  # nobody at the start, then Obama: a count, never an id

        # A set at a station now: Obama is the only member in the gym.
        producer.start()
        producer.produce_set(reps=5, at=visits[0].seen_at)
        wait_for(lambda: any(a.member == obama for a in attributions), 15, "the set attributed to Obama")
        done = next(a for a in attributions if a.member == obama)
        assert done.identity_source == "only_present"
    finally:
        producer.stop()
        hub_thread.stop()
        watcher.loop_stop()
        watcher.disconnect()


def _whole_day() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def test_members_cli_identify_json(tmp_path, mosquitto):
    path, _ = write_config(tmp_path, mosquitto)
    assert main(["members", "add", "Joe Biden", str(FACES / "biden.jpg"), "--consent", "--config", str(path)]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "replens.cli.main", "members", "identify", str(FACES / "biden.jpg"),
         str(FACES / "obama2.jpg"), "--json", "--config", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    results = [json.loads(line) for line in out]
    assert [r["member"] for r in results] == ["Joe Biden", None]
    assert results[0]["score"] > 0.5 and results[1]["score"] == 0.0


def test_enrol_from_the_entrance_camera_over_mqtt(tmp_path, mosquitto):
    """Home Assistant's enrol service: the request travels over MQTT, the faces never leave the agent."""
    video = tmp_path / "door.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (640, 480))
    for _ in range(8 * FPS):
        writer.write(frame_of(FACES / "obama2.jpg"))
    writer.release()
    agents = {"door": {"source": {"url": str(video), "realtime": True},
                       "entrance": {"camera": "front", "process_fps": 5, "appearance": False}}}
    _, config = write_config(tmp_path, mosquitto, agents=agents)
    topics = config.mqtt.topics
    results: list[EnrolResult] = []
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: results.append(EnrolResult.model_validate_json(m.payload))
    client.connect(mosquitto.host, mosquitto.port)
    client.subscribe(topics.agent_enrol_result("door"), qos=1)
    client.loop_start()
    agent = Agent("door", config.agents["door"], config.mqtt, config.agent_data_dir("door"),
                  identity=config.identity, members_db=config.members_db())
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        assert agent.publisher is not None
        wait_for(lambda: agent.publisher is not None and agent.publisher.connected, 10, "the agent connected")
        time.sleep(0.5)  # its subscriptions are in place
        refused = EnrolCommand(name="Barack Obama", consent=False)
        client.publish(topics.agent_enrol("door"), refused.to_json(), qos=1)
        request = EnrolCommand(name="Barack Obama", consent=True, frames=3, by="homeassistant")
        client.publish(topics.agent_enrol("door"), request.to_json(), qos=1)
        wait_for(lambda: len(results) >= 2, 10, "both enrolment results")
    finally:
        runner.join(timeout=15)
        client.loop_stop()
        client.disconnect()
    assert not results[0].ok and "consent" in results[0].message
    assert results[1].ok and results[1].member is not None, results[1].message
    with MembersStore(config.members_db()) as store:
        member = store.get("Barack Obama")
    assert member.id == results[1].member and member.embeddings == 3
