"""A set entered in lb is stored in kg and shown in lb: real Mosquitto, hub, agent, InfluxDB 1.6.7 and CLI.

The station's ``units`` are lb and its load is set with ``replens stations load … 225`` (pounds); Ann's unit is lb
(``replens members set --unit lb``, while the hub runs). The agent counts the sample clip in real time; the set,
claimed for Ann, is 102.058 kg in the journal and in InfluxDB, and 225 lb on her members' page, in her report
and in Home Assistant's discovery of her entities (her retained state keeps kg, like every message).
"""

from __future__ import annotations

import http.cookiejar
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from replens.cli.demo import DEMO_STATION
from replens.contract import LoadUnit, from_kg, shown_load
from replens.hub.runner import HubThread
from replens.hub.web.access import AccessStore, access_path
from replens.members import MembersStore
from tests.integration.harness import wait_for, write_config
from tests.integration.test_homeassistant import AGENT, AgentThread, Watcher, face
from tests.integration.test_load_delivery import LB_225_IN_KG, set_points
from tests.integration.test_load_delivery import gym_config as lb_station_gym
from tests.servers import free_port

pytestmark = pytest.mark.integration


def replens(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it, beside the running hub."""
    done = subprocess.run([sys.executable, "-m", "replens.cli.main", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


def with_page(tmp_path: Path, mosquitto: Any, influx_db: Any) -> tuple[Path, Any, int]:
    """The lb station's gym (test_load_delivery), with the members' page on a free port."""
    _, plain = lb_station_gym(tmp_path, mosquitto, influx_db)
    port = free_port()
    agents = {AGENT: plain.agents[AGENT].model_dump(mode="json", exclude_none=True)}
    path, config = write_config(tmp_path, mosquitto, influx_db, agents=agents, extra={
        "homeassistant": {"republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": "component"},
        "hub": {"stats_interval_s": 1, "ack_interval_s": 0.1, "web": {
            "listen": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"}}})
    return path, config, port


def page_text(base: str, token: str, path: str) -> str:
    """``path`` of the members' page as Ann sees it after opening her link (cookies kept, redirects followed)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/i/{token}", timeout=10) as landing:
        assert landing.status == 200
    with opener.open(f"{base}{path}", timeout=10) as response:
        return str(response.read().decode())


def test_a_set_entered_in_lb_is_stored_in_kg_and_shown_in_lb(tmp_path, mosquitto, influx_db) -> None:
    path, config, port = with_page(tmp_path, mosquitto, influx_db)
    assert config.agents[AGENT].stations[DEMO_STATION].units is LoadUnit.LB
    topics, node = config.mqtt.topics, config.mqtt.prefix
    with MembersStore(config.members_db()) as members:
        ann = members.add("Ann Lee", [face()], consent=True).id
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    station = lambda: (watcher.json(topics.agent_state(AGENT)) or {}).get("stations", {}).get(DEMO_STATION, {})  # noqa: E731
    volume_topic = f"homeassistant/sensor/{node}/member_{ann}_volume_today/config"
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        wait_for(lambda: (watcher.json(volume_topic) or {}).get("unit_of_measurement") == "kg", 10,
                 "Ann's volume sensor, in kg before she chooses")
        assert "loads shown in lb" in replens("members", "set", "Ann Lee", "--unit", "lb", config=path).stdout
        wait_for(lambda: (watcher.json(volume_topic) or {}).get("unit_of_measurement") == "lb", 10,
                 "Ann's discovery re-published in lb")
        with AgentThread(config) as agent:
            wait_for(lambda: station().get("load_kg") == 40.0, 15, "the configured starting load")
            loaded = replens("stations", "load", f"{AGENT}.{DEMO_STATION}", "225", config=path)
            assert f"load 225 lb ({LB_225_IN_KG:g} kg)" in loaded.stdout
            wait_for(lambda: station().get("load_kg") == LB_225_IN_KG, 10, "225 lb at the station")
            before = len(agent.stations[0].finished)  # a set ending from now on carries the station's load
            wait_for(lambda: len(agent.stations[0].finished) > before, 60, "a set counted at 225 lb")
            counted = agent.stations[0].finished[before]
        set_id, reps = counted.set_id, len(counted.reps)
        replens("sets", "claim", set_id, "Ann Lee", config=path)
        wait_for(lambda: [s.member for s in hub.journal.sets_by_id([set_id])] == [ann], 10, "the claim in the journal")
        (stored,) = hub.journal.sets_by_id([set_id])
        assert (stored.weight_kg, stored.reps) == (LB_225_IN_KG, reps)  # the journal keeps kg
        wait_for(lambda: set_points(influx_db).get(set_id) == (LB_225_IN_KG, reps), 15, "the point in InfluxDB")

        state = lambda: watcher.json(topics.member_state(ann)) or {}  # noqa: E731
        wait_for(lambda: (state().get("last_set") or {}).get("set_id") == set_id, 10, "Ann's state with the set")
        assert state()["last_set"]["weight_kg"] == LB_225_IN_KG  # the wire keeps kg ...
        sensor = watcher.json(volume_topic) or {}
        assert sensor["unit_of_measurement"] == "lb" and "/ 0.45359237" in sensor["value_template"]  # ... HA shows lb
        body = watcher.json(f"homeassistant/number/{node}/member_{ann}_body_weight/config") or {}
        assert (body["unit_of_measurement"], body["min"]) == ("lb", 44.1)

        store = AccessStore(access_path(config.hub_data_dir()))
        token = store.invite(ann, timedelta(days=1)).token
        store.close()
        wait_for(lambda: hub.web is not None and hub.web.started.is_set(), 10, "the members' page")
        page = page_text(f"http://127.0.0.1:{port}", token, f"/set/{set_id}")
        assert "<td>225 lb</td>" in page and '<label for="f-weight_kg">Load (lb)</label>' in page
        assert f"<td>{from_kg(stored.volume_kg or 0.0, LoadUnit.LB):g} lb</td>" in page and " kg<" not in page

        report = replens("report", "--member", "Ann Lee", "--since", "1d", "--out", str(tmp_path / "ann.png"),
                         config=path).stdout
        volume = shown_load(stored.volume_kg or 0.0, LoadUnit.LB, 0)
        assert f"{stored.exercise}: volume {volume} in 1 sets; best e1RM (Epley) " in report and " kg" not in report
        print(f"\n[units] {set_id}: {reps} reps at {stored.weight_kg} kg stored; Ann reads 225 lb, volume {volume}")
    finally:
        hub_thread.stop()
        watcher.close()
    assert hub_thread.error is None, hub_thread.error
