"""An agent killed in the middle of a set ends that set on its next start: no set stays open forever."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import yaml

from replens.cli.demo import sample_clip
from replens.config import load_config
from replens.device_agent.app import Agent
from replens.device_agent.outbox import Outbox
from tests.servers import free_port

pytestmark = pytest.mark.integration


def set_events(path) -> list[dict]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT payload FROM outbox WHERE kind = 'sets' ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    return [json.loads(p) for (p,) in rows]


def test_set_left_open_by_a_killed_agent_is_ended_on_restart(tmp_path) -> None:
    clip = sample_clip()
    config_path = tmp_path / "replens.yaml"
    config_path.write_text(yaml.safe_dump({
        "version": 1,
        "data_dir": str(tmp_path / "data"),
        "mqtt": {"host": "127.0.0.1", "port": free_port()},  # no broker: everything waits in the outbox
        "agents": {"cam": {
            "source": {"url": str(clip.path), "realtime": True},  # paced like a camera
            "stations": {"stack": {"exercise": "lat_pulldown",
                                   "tracker": {"type": "stack", "roi": clip.truth["roi"], "axis": "vertical"},
                                   "counter": {"set_end_rest_s": 5}}},
        }},
    }))
    config = load_config(config_path, env={})
    outbox_path = config.agent_data_dir("cam") / "outbox.sqlite3"
    agent = subprocess.Popen([sys.executable, "-m", "replens.cli.main", "agent", "run", "--config", str(config_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while sum(e["event"] == "update" for e in set_events(outbox_path)) < 2:  # three reps into set 1
            assert time.monotonic() < deadline and agent.poll() is None, "the agent never got into a set"
            time.sleep(0.1)
    finally:
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait(timeout=10)
    before = set_events(outbox_path)
    open_id = before[-1]["set_id"]
    assert all(e["event"] != "end" for e in before)
    assert [s.last.set_id for s in Outbox(outbox_path).open_sets()] == [open_id]

    restarted = Agent("cam", config.agents["cam"], config.agent_mqtt("cam"), config.agent_data_dir("cam"))
    import threading

    stop = threading.Event()
    stop.set()  # only the start-up work: no frames
    restarted.run(stop, drain_timeout_s=0.1)
    after = set_events(outbox_path)
    ends = [e for e in after if e["set_id"] == open_id and e["event"] == "end"]
    assert len(ends) == 1
    assert ends[0]["reps"] == before[-1]["reps"] and ends[0]["ended_at"] is not None
    assert ends[0]["seq"] > before[-1]["seq"]
    assert Outbox(outbox_path).open_sets() == []
