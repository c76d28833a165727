"""A real video through the agent, over a real Mosquitto, through the hub, into a real InfluxDB."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from replens.cli.demo import sample_clip
from replens.device_agent.app import Agent
from replens.hub.runner import HubThread
from tests.integration.harness import wait_for, write_config

pytestmark = pytest.mark.integration


def clip_agent(url: str) -> dict:
    clip = sample_clip()
    return {
        "source": {"url": url, "realtime": False},
        "stations": {"stack": {"exercise": "lat_pulldown",
                               "tracker": {"type": "stack", "roi": clip.truth["roi"], "axis": "vertical"},
                               "counter": {"set_end_rest_s": 5}}},
    }


def test_video_to_influxdb_queried_back_with_influxql(tmp_path, mosquitto, influx_db):
    server, db = influx_db
    clip = sample_clip()
    _, config = write_config(tmp_path, mosquitto, influx_db, agents={"cam_1": clip_agent(str(clip.path))})
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        agent = Agent("cam_1", config.agents["cam_1"], config.mqtt, config.agent_data_dir("cam_1"))
        summary = agent.run(drain_timeout_s=30)
        assert summary.drained
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 30, "every point in InfluxDB")
    finally:
        hub_thread.stop()

    truth = [s["reps"] for s in clip.truth["sets"]]
    sets = server.rows('SELECT "reps", "set_id", "ended", "station", "exercise", "duration_s" FROM "set"', db)
    assert [row["reps"] for row in sets] == [len(r) for r in truth]
    assert all(row["ended"] is True and row["station"] == "stack" and row["exercise"] == "lat_pulldown"
               for row in sets)
    reps = server.rows('SELECT "index", "set_id", "duration_s", "rom" FROM "rep"', db)
    assert len(reps) == sum(len(r) for r in truth)
    for set_row, set_truth in zip(sets, truth, strict=True):
        mine = [r for r in reps if r["set_id"] == set_row["set_id"]]
        assert [r["index"] for r in mine] == list(range(1, len(set_truth) + 1))
        true_durations = [r["end_s"] - r["start_s"] for r in set_truth]
        assert [r["duration_s"] for r in mine] == pytest.approx(true_durations, abs=0.5)
        assert all(r["rom"] > 40 for r in mine)  # pixels of stack travel; the clip lifts about 85 px
    # The set's timestamp is its start: the first rep starts with it (same nanosecond).
    first_rep = min((r for r in reps if r["set_id"] == sets[0]["set_id"]), key=lambda r: r["time"])
    assert first_rep["time"] == sets[0]["time"]


def test_demo_through_broker_and_influxdb(tmp_path, mosquitto, influx_db):
    config_path, _ = write_config(tmp_path, mosquitto, influx_db)
    result = subprocess.run([sys.executable, "-m", "replens.cli.main", "demo", "--config", str(config_path),
                             "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [s["reps"] for s in output["sets"]] == output["expected_reps"]
    assert output["delivery"]["all_confirmed_by_hub"] is True
    assert output["delivery"]["influxdb_points_pending"] == 0
    server, db = influx_db
    assert len(server.rows('SELECT "index" FROM "rep"', db)) == output["total_reps"]


def test_hub_writes_through_the_v2_api(tmp_path, mosquitto, victoria):
    """api_version 2 (influxdb-client, /api/v2/write) against a real server that speaks it."""
    from tests.integration.harness import Producer

    bucket = f"b{tmp_path.name[-6:]}"
    section = {"api_version": 2, "host": victoria.host, "port": victoria.port, "token": "t", "organization": "gym",
               "bucket": bucket, "flush_interval_s": 0.05}
    _, config = write_config(tmp_path, mosquitto, influx_section=section)
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "v2_agent", tmp_path / "agent")
    producer.start()
    try:
        producer.produce_set(reps=7)
        wait_for(lambda: producer.outbox.depth() == 0, 20, "the hub to store the set")
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 20, "the points to be written")
    finally:
        producer.stop()
        hub_thread.stop()
    series = victoria.export('{__name__="rep_index",agent="v2_agent"}', min_samples=7)
    assert sorted(v for s in series for v in s["values"]) == [1, 2, 3, 4, 5, 6, 7]
    sets = victoria.export('{__name__="set_reps",agent="v2_agent"}', min_samples=1)
    # new, six updates and end all carry the set's start as timestamp (InfluxDB keeps the last of them;
    # VictoriaMetrics keeps every sample, so check the timestamps rather than the count).
    assert len(sets) == 1 and len(set(sets[0]["timestamps"])) == 1
    assert max(sets[0]["values"]) == 7


def test_agent_and_hub_as_processes(tmp_path, mosquitto, influx_db):
    """`replens hub run` and `replens agent run` from one config file, stopped the way a service manager does."""
    import signal

    from replens.hub.journal import Journal

    clip = sample_clip()
    config_path, config = write_config(tmp_path, mosquitto, influx_db, agents={"cam_2": clip_agent(str(clip.path))})
    command = [sys.executable, "-m", "replens.cli.main"]
    hub = subprocess.Popen([*command, "hub", "run", "--config", str(config_path)], stderr=subprocess.PIPE, text=True)
    try:
        annotated = tmp_path / "annotated.mp4"
        agent = subprocess.run([*command, "agent", "run", "--config", str(config_path), "--annotate", str(annotated)],
                               capture_output=True, text=True, timeout=120, check=False)
        assert agent.returncode == 0, agent.stderr
        assert "2 sets, 22 events" in agent.stderr
        import cv2

        capture = cv2.VideoCapture(str(annotated))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == clip.truth["frames"]
        capture.release()
    finally:
        hub.send_signal(signal.SIGTERM)
        _, hub_log = hub.communicate(timeout=20)
    assert hub.returncode == 0, hub_log
    journal = Journal(config.journal_path())
    assert journal.counts() == {"sets": 2, "reps": 10, "events": 22}
    assert [s.reps for s in journal.sets()] == [6, 4]
    journal.close()
