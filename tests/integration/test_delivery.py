"""Nothing lost, nothing doubled: real Mosquitto, real InfluxDB, real processes killed and restarted.

Each test prints its figures (events produced, stored, lost, doubled) for the closing note.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.hub.runner import HubThread
from tests.integration.harness import Producer, flood_a_slow_hub, slow_journal, wait_for, write_config

pytestmark = pytest.mark.integration


def influx_counts(server, db):
    reps = server.rows('SELECT count("index") FROM "rep"', db)
    sets = server.rows('SELECT count("reps") FROM "set" WHERE "ended" = true', db)
    return (reps[0]["count"] if reps else 0), (sets[0]["count"] if sets else 0)


def figures(name, produced, stored, influx_reps, expected_reps):
    lost = produced - stored
    print(f"\n[{name}] events produced={produced} stored={stored} lost={lost} "
          f"doubled={max(0, stored - produced)} influx rep points={influx_reps}/{expected_reps}")


def test_broker_killed_and_restarted_while_producing(tmp_path, make_mosquitto, influx_db):
    broker = make_mosquitto()
    _, config = write_config(tmp_path, broker, influx_db)
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "rack_1", tmp_path / "agent")
    producer.start()
    try:
        for i in range(12):
            producer.produce_set(reps=5)
            time.sleep(0.1)
            if i == 4:
                broker.kill()  # SIGKILL: in-flight messages die with it
            if i == 8:
                broker.restart()
        wait_for(lambda: producer.outbox.depth() == 0, 60, "the hub to confirm every event")
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 30, "InfluxDB to receive every point")
        counts = hub.journal.counts()
        influx_reps, influx_sets = influx_counts(*influx_db)
        figures("broker SIGKILL", producer.events, counts["events"], influx_reps, producer.reps)
        assert counts["events"] == producer.events
        assert counts["reps"] == producer.reps and counts["sets"] == producer.sets
        assert (influx_reps, influx_sets) == (producer.reps, producer.sets)
    finally:
        producer.stop()
        hub_thread.stop()


def test_influxdb_down_then_back_loses_nothing(tmp_path, mosquitto, influx_db):
    server, db = influx_db
    _, config = write_config(tmp_path, mosquitto, influx_db)
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "rack_2", tmp_path / "agent")
    producer.start()
    try:
        server.stop()
        for _ in range(10):
            producer.produce_set(reps=4)
        wait_for(lambda: producer.outbox.depth() == 0, 30, "the hub to journal every event")
        time.sleep(2.0)  # several failed writes and backoffs
        waiting = [p.line.split(",", 1)[0] for p in hub.journal.pending_points(100_000)]
        # every set and rep point waits in the journal, none dropped (plus the hub's own health points)
        assert waiting.count("rep") + waiting.count("set") == producer.events
        assert hub.forwarder is not None and hub.forwarder.failures >= 1
        server.start()
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 60, "the backlog to reach InfluxDB")
        influx_reps, influx_sets = influx_counts(server, db)
        figures("InfluxDB down", producer.events, hub.journal.counts()["events"], influx_reps, producer.reps)
        assert (influx_reps, influx_sets) == (producer.reps, producer.sets)
    finally:
        producer.stop()
        hub_thread.stop()


def start_hub_process(config_path, log_path):
    return subprocess.Popen(
        [sys.executable, "-m", "replens.cli.main", "hub", "run", "--config", str(config_path)],
        stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
    )


def test_hub_killed_hard_mid_batch_and_restarted(tmp_path, mosquitto, influx_db):
    config_path, config = write_config(tmp_path, mosquitto, influx_db)
    log_path = tmp_path / "hub.log"
    hub = start_hub_process(config_path, log_path)
    producer = Producer(config, "rack_3", tmp_path / "agent")
    producer.start()
    journal = config.journal_path()
    try:
        wait_for(journal.exists, 20, "the hub to start")
        for _ in range(60):
            producer.produce_set(reps=8)
        # Kill while the hub is busy: some events journaled, some not, some points not yet written.
        wait_for(lambda: _journal_events(journal) > 50, 30, "the hub to journal a first batch")
        os.kill(hub.pid, signal.SIGKILL)
        hub.wait(timeout=10)
        at_kill = _journal_events(journal)
        hub = start_hub_process(config_path, log_path)
        wait_for(lambda: producer.outbox.depth() == 0, 90, "the restarted hub to confirm every event")
        wait_for(lambda: _pending_points(journal) == 0, 60, "every point to reach InfluxDB")
        stored = _journal_events(journal)
        influx_reps, influx_sets = influx_counts(*influx_db)
        figures(f"hub SIGKILL (at kill: {at_kill} journaled)", producer.events, stored, influx_reps, producer.reps)
        assert 0 < at_kill < producer.events or at_kill == producer.events
        assert stored == producer.events
        assert (influx_reps, influx_sets) == (producer.reps, producer.sets)
    finally:
        producer.stop()
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=10)


def _journal_events(path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _pending_points(path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return int(db.execute("SELECT COUNT(*) FROM influx_outbox").fetchone()[0])


def test_malformed_payloads_on_every_topic_rejected_and_hub_keeps_serving(tmp_path, mosquitto):
    _, config = write_config(tmp_path, mosquitto)
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    topics = config.mqtt.topics
    bad = [
        (topics.sets, b"{not json"),
        (topics.sets, b'{"schema": 1, "event": "new"}'),
        (topics.reps, b'{"schema": 99}'),
        (topics.reps, b"\xff\xfe\x00"),
        (topics.stats, b"[]"),
        (topics.stats, b'{"schema": 1, "source": "agent", "id": "a", "at": "yesterday"}'),
        (topics.agent_available("rack_9"), b"sometimes"),
        (topics.agent_state("rack_9"), b'{"schema": 1, "agent_id": "rack_8", "updated_at": '
                                        b'"2026-11-26T10:00:00Z", "stations": {}}'),
        (topics.agent_state("rack_9"), b"x" * 400_000),
    ]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    producer = Producer(config, "rack_9", tmp_path / "agent")
    producer.start()
    try:
        for topic, payload in bad:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        producer.produce_set(reps=3)  # a good set after the garbage
        wait_for(lambda: producer.outbox.depth() == 0, 20, "the valid set to be stored")
        wait_for(lambda: hub.counters.counts["rejected"] >= len(bad), 10, "every bad payload to be rejected")
        print(f"\n[malformed] sent={len(bad)} rejected={hub.counters.counts['rejected']} "
              f"last reason: {hub.counters.last_rejection}")
        assert hub.counters.counts["rejected"] == len(bad)
        assert hub.journal.counts()["reps"] == 3
        assert hub.connected.is_set()
    finally:
        client.loop_stop()
        client.disconnect()
        producer.stop()
        hub_thread.stop()


def test_availability_and_retained_state_on_the_broker(tmp_path, mosquitto):
    _, config = write_config(tmp_path, mosquitto)
    topics = config.mqtt.topics
    seen: dict[str, bytes | bytearray] = {}
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: seen.__setitem__(m.topic, m.payload)
    client.connect(mosquitto.host, mosquitto.port)
    client.subscribe(f"{topics.prefix}/#", qos=1)
    client.loop_start()
    hub_thread = HubThread(config)
    hub_thread.start()
    producer = Producer(config, "rack_4", tmp_path / "agent")
    producer.start()
    try:
        producer.publisher.set_state(b'{"schema": 1, "agent_id": "rack_4", "updated_at": '
                                     b'"2026-11-26T10:00:00Z", "stations": {}}')
        wait_for(lambda: seen.get(topics.hub_available) == b"online", 10, "hub online")
        wait_for(lambda: seen.get(topics.agent_available("rack_4")) == b"online", 10, "agent online")
        wait_for(lambda: topics.agent_state("rack_4") in seen, 10, "retained agent state")
        producer.stop()
        wait_for(lambda: seen.get(topics.agent_available("rack_4")) == b"stopped", 10, "agent stopped")
        hub_thread.stop()
        wait_for(lambda: seen.get(topics.hub_available) == b"stopped", 10, "hub stopped")
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_backlog_travels_in_batches_and_a_bad_event_in_a_batch_costs_only_itself(tmp_path, mosquitto, influx_db):
    """An agent that was cut off sends its backlog many events per message; the hub stores each once."""
    _, config = write_config(tmp_path, mosquitto, influx_db)
    producer = Producer(config, "rack_7", tmp_path / "agent")
    for _ in range(40):
        producer.produce_set(reps=5)  # 440 events queued before anything is connected
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer.start()
    topics = config.mqtt.topics
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    try:
        wait_for(lambda: producer.outbox.depth() == 0, 60, "the hub to confirm the backlog")
        wait_for(lambda: hub.journal.points_depth()[0] == 0, 30, "InfluxDB to receive every point")
        counts = hub.journal.counts()
        influx_reps, influx_sets = influx_counts(*influx_db)
        messages = hub.counters.counts["event_messages"]  # not "received": the hub's own stats arrive each second
        figures("backlog in batches", producer.events, counts["events"], influx_reps, producer.reps)
        print(f"[backlog in batches] {messages} messages carried {hub.counters.counts['batched_events']} events")
        assert counts["events"] == producer.events == 440
        assert (influx_reps, influx_sets) == (producer.reps, producer.sets)
        assert hub.counters.counts["batched_events"] == 440
        assert messages <= 440 / 100  # up to batch_max_events (200) per message, and 128 KiB

        good = b'{"schema":1,"agent_id":"rack_7","set_id":"rack_7.x.1","station":"x","exercise":"squat",'
        rep = (good + b'"seq":%d,"index":%d,"started_at":"2026-11-20T10:00:00Z","turned_at":"2026-11-20T10:00:01Z",'
               b'"ended_at":"2026-11-20T10:00:02Z","concentric_s":1.0,"eccentric_s":1.0,"rom":%s,"confidence":0.9}')
        batch = (b'{"schema":1,"agent_id":"rack_7","reps":[' + rep % (10**12, 1, b"40.0") + b","
                 + rep % (10**12 + 1, 2, b'"deep"') + b"," + rep % (10**12 + 2, 3, b"41.0") + b"]}")
        rejected = hub.counters.counts["rejected"]
        client.publish(topics.agent_batch("rack_7"), batch, qos=1).wait_for_publish(5)
        wait_for(lambda: hub.journal.counts()["reps"] == producer.reps + 2, 10, "the two good reps")
        wait_for(lambda: hub.counters.counts["rejected"] == rejected + 1, 10, "the bad rep to be rejected")
        assert "rack_7/batch: reps[1].rom" in (hub.counters.last_rejection or "")
    finally:
        client.loop_stop()
        client.disconnect()
        producer.stop()
        hub_thread.stop()


def test_a_hub_that_falls_behind_stops_reading_and_the_broker_holds_the_backlog(tmp_path, mosquitto, monkeypatch):
    """Memory stays bounded: with the journal slowed down, neither the hub's inbox nor aiomqtt's queue grows."""
    slow_journal(monkeypatch)
    _, config = write_config(tmp_path, mosquitto)
    flood_a_slow_hub(config, tmp_path / "agent")
