"""Every dashboard query runs against a real InfluxDB filled by the real hub with a generated week of gym data.

Grafana cannot be installed here, so the test does Grafana's part: it resolves each dashboard's
variables by running their queries, substitutes them and the time macros the way Grafana's InfluxDB
datasource does (browser and backend modes), and runs every panel's query. The week (several members,
stations and exercises, reps with tempo and velocity, one set still going) goes through the agents'
real outbox and publisher, the broker and the hub; sets are attributed with claims over MQTT.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.contract import ClaimCommand, Stats
from replens.device_agent.demo_week import Week, generate_week
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher
from replens.hub.runner import HubThread
from replens.hub.storage.presence_points import presence_line
from replens.members import MembersStore
from tests import grafana_sim
from tests.integration.harness import wait_for, write_config
from tests.servers import InfluxDB1, Mosquitto, http_request

pytestmark = pytest.mark.integration

TARGETS = [
    pytest.param(path.name, panel["id"], target["refId"], id=f"{path.stem}:{panel['id']}{target['refId']}")
    for path in grafana_sim.DASHBOARD_FILES
    for panel, target in grafana_sim.targets(grafana_sim.load(path))
]


TAG_KEYS = {"time", "agent", "station", "exercise", "source", "id"}


@dataclass(frozen=True)
class Gym:
    server: InfluxDB1
    db: str  # exactly what the hub wrote: sets with their loads, e1RM estimates and records
    week: Week
    member_ids: dict[str, str]  # name → id


@pytest.fixture(scope="module")
def gym(tmp_path_factory: pytest.TempPathFactory, influxdb1: InfluxDB1):
    tmp = tmp_path_factory.mktemp("gym_week")
    if not influxdb1.running:  # an earlier test may have left the session's server stopped
        influxdb1.start()
    broker = Mosquitto(tmp / "mosquitto")
    broker.start()
    db = f"t_{uuid.uuid4().hex[:12]}"
    influxdb1.create_database(db)
    try:
        _, config = write_config(tmp, broker, (influxdb1, db))
        week = generate_week(datetime.now(UTC))
        with MembersStore(config.members_db()) as store:
            rng = np.random.default_rng(1)
            member_ids = {name: store.add(name, [rng.normal(size=128)], consent=True).id for name in week.members}
        hub = HubThread(config)
        hub.start(timeout_s=20)
        try:
            _publish_week(config, week, tmp)
            _wait_for_points(influxdb1, db, week)
            _claim(broker, config, week, member_ids, influxdb1, db)
        finally:
            hub.stop()
        _write(influxdb1, db, _presence_lines(week, member_ids))
        yield Gym(influxdb1, db, week, member_ids)
    finally:
        broker.stop()
        influxdb1.drop_database(db)


def _publish_week(config, week: Week, tmp) -> None:
    """Each agent's events through its own outbox and publisher, as its counter would append them."""
    agents = []
    for agent_id, sets in week.by_agent().items():
        outbox = Outbox(tmp / agent_id / "outbox.sqlite3")
        publisher = Publisher(config.mqtt, agent_id, outbox, resend_after_s=5.0)
        publisher.start()
        for planned in sets:
            for draft in planned.events():
                outbox.append(draft.kind, draft.payload)
            publisher.wake()
        # The agent's health as it reports it while its week is still on the way: events waiting.
        stats = Stats(source="agent", id=agent_id, at=datetime.now(UTC), uptime_s=3600.0, fps=14.5,
                      latency_ms=41.0, outbox_depth=outbox.depth())
        publisher.publish_stats(stats.to_json())
        agents.append((agent_id, outbox, publisher))
    try:
        for agent_id, outbox, publisher in agents:
            assert publisher.wait_drained(120), f"{agent_id}: {outbox.depth()} events never confirmed by the hub"
    finally:
        for _, outbox, publisher in agents:
            publisher.stop()
            outbox.close()


def _count(server: InfluxDB1, db: str, query: str) -> int:
    rows = server.rows(query, db)
    return int(rows[0]["count"]) if rows else 0


def _wait_for_points(server: InfluxDB1, db: str, week: Week) -> None:
    ended = sum(1 for s in week.sets if s.ended)
    counts = {
        'SELECT count("reps") FROM "set"': len(week.sets),
        'SELECT count("reps") FROM "set" WHERE "ended" = true': ended,
        'SELECT count("index") FROM "rep"': week.rep_count(),
        "SELECT count(\"fps\") FROM \"agent_stats\" WHERE \"source\" = 'agent'": 3,
    }
    for query, expected in counts.items():
        def arrived(query: str = query, expected: int = expected) -> bool:
            return _count(server, db, query) >= expected

        wait_for(arrived, 60, f"{query} to reach {expected}: {_count(server, db, query)}")
        assert _count(server, db, query) == expected, query


def _claim(broker: Mosquitto, config, week: Week, member_ids: dict[str, str], server: InfluxDB1, db: str) -> None:
    """Members claim their sets over MQTT (guests' sets stay unattributed), then the points say so."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        mine = [s for s in week.sets if s.person in member_ids]
        for planned in mine:
            claim = ClaimCommand(set_id=planned.set_id, member=member_ids[planned.person], by="test")
            client.publish(config.mqtt.topics.claim, claim.to_json(), qos=1).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()
    query = "SELECT count(\"reps\") FROM \"set\" WHERE \"member\" != ''"
    wait_for(lambda: _count(server, db, query) == len(mine), 60, f"{len(mine)} sets attributed in InfluxDB")


def _presence_lines(week: Week, member_ids: dict[str, str]) -> list[str]:
    """The week has no entrance visits: the head counts the hub would write as today's members arrived."""
    today = [s for s in week.sets if s.person in member_ids and s.started_at > week.now - timedelta(hours=2)]
    first: dict[str, datetime] = {}
    for planned in today:
        first.setdefault(planned.person, planned.started_at - timedelta(minutes=3))
    arrivals = [presence_line(count, at) for count, at in enumerate(sorted(first.values()), start=1)]
    # The running hub wrote its own count (0: no visits) when it started; the latest count is ours.
    return [*arrivals, presence_line(len(first), datetime.now(UTC))]


def _write(server: InfluxDB1, db: str, lines: list[str]) -> None:
    status, body = http_request("POST", f"{server.url}/write?db={db}&precision=ns", data="\n".join(lines).encode())
    assert status == 204, body


def _variable_values(gym: Gym, db: str, dashboard: dict[str, Any], backend: bool) -> dict[str, str]:
    """Resolve the variables in order, like Grafana: each query sees the ones before it."""
    values: dict[str, str] = {}
    time_from = dashboard["time"]["from"]
    for variable in dashboard["templating"]["list"]:
        query = grafana_sim.interpolate(variable["query"], values, time_from=time_from, backend=backend)
        options = grafana_sim.option_values(gym.server.query(query, db))
        assert options, f"variable {variable['name']}: no options from {query}"
        variable["_options"] = options
        if variable["includeAll"]:
            chosen = ["$__all"]
        elif variable["name"] == "set_id":  # a barbell set, so that the velocity panel has data too
            chosen = [next(o for o in options if o.startswith(("rack_1.", "bench_1.")))]
        else:
            chosen = [options[0]]
        values[variable["name"]] = grafana_sim.variable_text(variable, chosen)
    return values


@pytest.mark.parametrize("backend", [False, True], ids=["browser", "backend"])
@pytest.mark.parametrize(("file", "panel_id", "ref_id"), TARGETS)
def test_panel_query_returns_rows(gym: Gym, file: str, panel_id: int, ref_id: str, backend: bool):
    dashboard = grafana_sim.load(grafana_sim.ROOT / "dashboards" / file)
    panel = next(p for p in dashboard["panels"] if p["id"] == panel_id)
    target = next(t for t in panel["targets"] if t["refId"] == ref_id)
    time_from = f"now-{panel['timeFrom']}" if panel.get("timeFrom") else dashboard["time"]["from"]
    values = _variable_values(gym, gym.db, dashboard, backend)
    query = grafana_sim.interpolate(target["query"], values, time_from=time_from, backend=backend,
                                    min_interval=panel.get("interval"))
    rows = gym.server.rows(query, gym.db)  # raises with InfluxDB's message on any error
    assert rows, f"{panel['title']!r} returned no rows: {query}"
    values_seen = [v for row in rows for k, v in row.items() if k not in TAG_KEYS and v not in (None, 0, "")]
    assert values_seen, f"{panel['title']!r} returned only empty or zero values: {query}"


def test_the_week_arrived_whole_and_attributed(gym: Gym):
    """The data the panels read is the generated week exactly: every set, rep and claim."""
    rows = gym.server.rows('SELECT "set_id", "member", "reps", "ended", "weight_kg", "volume_kg" FROM "set"', gym.db)
    by_id = {r["set_id"]: r for r in rows}
    assert len(by_id) == len(gym.week.sets) == len(rows)
    for planned in gym.week.sets:
        row = by_id[planned.set_id]
        assert row["reps"] == len(planned.reps)
        assert row["ended"] is planned.ended
        assert row["member"] == gym.member_ids.get(planned.person, "")
        assert (row["weight_kg"], row["volume_kg"]) == (planned.weight_kg, planned.weight_kg * len(planned.reps))
    assert len(gym.member_ids) >= 3
    assert len({s.station for s in gym.week.sets}) >= 4
    assert len({s.exercise for s in gym.week.sets}) >= 5


def test_members_records_and_estimates_are_what_a_member_sees(gym: Gym):
    """Per member: the week's volume, best e1RM per exercise and the records the hub judged (for the closing note)."""
    for name, member in sorted(gym.member_ids.items()):
        mine = [s for s in gym.week.sets if s.person == name and s.ended]
        volume = gym.server.rows(f"SELECT sum(\"volume_kg\") FROM \"set\" WHERE \"member\" = '{member}' "
                                 "AND \"ended\" = true", gym.db)
        assert volume[0]["sum"] == pytest.approx(sum(s.weight_kg * len(s.reps) for s in mine))
        best = gym.server.rows(f"SELECT max(\"e1rm_epley_kg\") FROM \"set\" WHERE \"member\" = '{member}' "
                               "GROUP BY \"exercise\"", gym.db)
        records = gym.server.rows(f"SELECT \"kind\", \"value\", \"previous\" FROM \"record\" WHERE \"member\" = "
                                  f"'{member}'", gym.db)
        kinds = {r["kind"] for r in records}
        assert {"heaviest_load", "best_e1rm"} <= kinds  # a first set at each exercise holds both
        print(f"\n[{name}] volume {volume[0]['sum']:.0f} kg; best e1RM "
              f"{ {r['exercise']: round(r['max'], 1) for r in best} }; {len(records)} records "
              f"({', '.join(sorted(kinds))})")
