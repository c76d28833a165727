"""Load: a whole gym on one box. Many simulated agents → real Mosquitto → the real hub → real InfluxDB 1.x.

Each simulated agent is its own process and replays a recording: the stack signal of the bundled sample
clip (``device_agent/samples/stack_demo.json``, 2 sets, 10 reps) rebuilt with per-variant amplitude,
tempo and noise, counted by the real ``RepCounter``. Its rep, set new/update/end events are replayed on
four stations per agent at a fixed aggregate rate, with rests compressed: a rep's ``started_at`` is the
wall time at which the agent creates the event, so a rep point's InfluxDB timestamp is its creation time.

Phases, one after another on the same servers (fresh hub, journal and database for each):
- ``outbox``: the agents' real path, durable SQLite outbox + ``Publisher``, events leave only on the
  hub's acks (the whole delivery protocol);
- ``raw``: the same events published straight with paho at QoS 1 (no outbox, no waiting for acks);
- ``naive``: the baseline, same raw publishers, and instead of the hub one subscriber that writes each
  event to InfluxDB on arrival, one HTTP POST per event.

Measured per phase: events produced, recorded in the journal, points in InfluxDB against the points
expected (reps + distinct sets), lost and doubled; sustained rate; end-to-end latency from an event's
creation to its visibility in InfluxDB (a poller asks InfluxDB every 50 ms for new rep points of one
probe agent: a sample of 1 in ``--agents``), the hub's own figure (queued → written) as a cross-check;
the hub's RSS every second (start, end, max, slope over the last 75 % of the run) and CPU per process.

Usage: python bench/load.py [--agents 40] [--rate 5000] [--duration 60] [--phases outbox,raw,naive]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replens.config import MqttConfig, load_config  # noqa: E402
from replens.contract import (  # noqa: E402
    DecodedBatch,
    Event,
    EventKind,
    Exercise,
    RepEvent,
    SetEvent,
    SetPhase,
    decode_incoming,
    encode_batch,
    set_id_for,
)
from replens.device_agent.counting.counter import CounterSettings, RepCounter  # noqa: E402
from replens.device_agent.counting.events import CountEvent, RepCompleted, SetEnded, SetStarted  # noqa: E402
from replens.device_agent.drafts import Draft  # noqa: E402
from replens.device_agent.outbox import Outbox  # noqa: E402
from replens.device_agent.publisher import Publisher  # noqa: E402
from replens.device_agent.sets import SetAssembler  # noqa: E402
from replens.device_agent.signal import SignalSample  # noqa: E402
from replens.hub.journal import JournalReader  # noqa: E402
from replens.hub.storage.points import rep_line, set_line  # noqa: E402
from tests.servers import InfluxDB1, Mosquitto, wait_until  # noqa: E402

STATIONS = (("chest", Exercise.CHEST_PRESS), ("pulldown", Exercise.LAT_PULLDOWN),
            ("legs", Exercise.LEG_PRESS), ("row", Exercise.SEATED_ROW))
SAMPLE = ROOT / "device_agent" / "samples" / "stack_demo.json"
FPS = 30.0
POLL_S = 0.05
MOSQUITTO_QUEUE = ("max_queued_messages 100000", "max_queued_bytes 268435456")


# Recording: the sample clip's signal, counted by the real counter -------------------------------------
def stack_signal(schedule: list[dict[str, float]], rng: random.Random) -> list[SignalSample]:
    """The plate stack's height over time for one variant: cosine lifts from the clip's ground truth."""
    amplitude, tempo, noise = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.25), rng.uniform(0.5, 2.0)
    end_s = max(r["end_s"] for r in schedule) * tempo + 3.0
    samples = []
    for i in range(int(end_s * FPS)):
        t = i / FPS
        height = 0.0
        for rep in schedule:
            start, top, top_end, end = (rep[k] * tempo for k in ("start_s", "top_s", "top_end_s", "end_s"))
            if start <= t < top:
                height = (1 - _cos((t - start) / (top - start))) / 2
            elif top <= t < top_end:
                height = 1.0
            elif top_end <= t < end:
                height = (1 + _cos((t - top_end) / (end - top_end))) / 2
            if height:
                height *= rep["lift_px"] * amplitude
                break
        samples.append(SignalSample(t, height + rng.gauss(0.0, noise), 0.95))
    return samples


def _cos(fraction: float) -> float:
    return math.cos(math.pi * fraction)


def record(variants: int) -> list[list[CountEvent]]:
    """Counter events of each variant (the real counter, as an agent's station would produce them)."""
    clip = json.loads(SAMPLE.read_text())
    schedule = [rep for s in clip["sets"] for rep in s["reps"]]
    recordings = []
    for seed in range(variants):
        counter = RepCounter(CounterSettings(min_range=40.0, set_end_rest_s=6.0))
        events: list[CountEvent] = []
        samples = stack_signal(schedule, random.Random(seed))
        for sample in samples:
            events += counter.update(sample)
        events += counter.finish(samples[-1].t_s + 1.0)
        recordings.append(events)
    return recordings


@dataclass
class StationReplay:
    """Replays recorded counter events through a station's set assembler, dated now (rests compressed).

    A set starts when its first rep is sent, each rep when it is sent (after the station's previous rep)
    and at full length, a set ends when its end is sent.
    """

    sets: SetAssembler
    recording: list[CountEvent]
    position: int = 0
    set_start: float = 0.0
    last_t: float = 0.0

    def next_drafts(self, now: float) -> list[Draft]:
        while True:
            event = self.recording[self.position]
            self.position = (self.position + 1) % len(self.recording)
            drafts = self.sets.take([event], self._wall_offset_s(event, now))
            if drafts:
                return drafts

    def _wall_offset_s(self, event: CountEvent, now: float) -> float:
        if isinstance(event, SetStarted):
            self.set_start = max(now, self.set_start + 0.001)
            self.last_t = self.set_start - 1e-6
            return self.set_start - event.start_s
        if isinstance(event, RepCompleted):
            self.last_t = max(now, self.last_t + 1e-6)  # one point per rep: distinct start times
            return self.last_t - event.rep.start_s
        if isinstance(event, SetEnded):
            return max(now, self.last_t) - event.end_s
        return now


# Simulated agents (one process each) -------------------------------------------------------------------
@dataclass(frozen=True)
class AgentJob:
    agent_id: str
    mode: str  # "outbox" or "raw"
    rate: float  # events per second
    duration_s: float
    drain_s: float
    mqtt: dict[str, Any]
    workdir: str
    recordings: list[list[CountEvent]]


def agent_main(job: AgentJob, go: Any, results: Any) -> None:
    config = MqttConfig.model_validate(job.mqtt)
    stations = [StationReplay(SetAssembler(job.agent_id, name, exercise), job.recordings[i % len(job.recordings)])
                for i, (name, exercise) in enumerate(STATIONS)]
    send, finish = (_outbox_sender if job.mode == "outbox" else _raw_sender)(job, config)
    go.wait()
    produced, reps, behind_s, queue = 0, 0, 0.0, _drafts(stations)
    set_ids: set[object] = set()
    start = time.time()
    while (now := time.time()) < start + job.duration_s:
        due = int((now - start) * job.rate) - produced
        behind_s = max(behind_s, due / job.rate)
        for _ in range(due):
            draft = next(queue)(time.time())
            send(draft)
            produced += 1
            if draft.kind == "reps":
                reps += 1
            else:
                set_ids.add(draft.fields["set_id"])
        time.sleep(0.005)
    publish_s = time.time() - start
    drained = finish(job.drain_s)
    times = os.times()
    results.put({"agent": job.agent_id, "produced": produced, "sets": len(set_ids), "reps": reps,
                 "behind_s": behind_s, "publish_s": publish_s, "drained": drained,
                 "cpu_s": times.user + times.system})


def _drafts(stations: list[StationReplay]) -> Iterator[Any]:
    """Round robin over the stations; each item makes its draft when called with the creation time."""
    pending: list[list[Draft]] = [[] for _ in stations]
    while True:
        for i, station in enumerate(stations):
            def make(now: float, i: int = i, station: StationReplay = station) -> Draft:
                if not pending[i]:
                    pending[i] = station.next_drafts(now)
                return pending[i].pop(0)
            yield make


def _outbox_sender(job: AgentJob, config: MqttConfig) -> tuple[Any, Any]:
    outbox = Outbox(Path(job.workdir) / job.agent_id / "outbox.sqlite3")
    publisher = Publisher(config, job.agent_id, outbox)
    publisher.start()
    wait_until(lambda: publisher.connected, 30, message=f"{job.agent_id} not connected")

    def send(draft: Draft) -> None:
        outbox.append(draft.kind, draft.payload)
        publisher.wake()

    def finish(drain_s: float) -> bool:
        drained = publisher.wait_drained(drain_s)
        publisher.stop()
        return drained

    return send, finish


def _raw_sender(job: AgentJob, config: MqttConfig) -> tuple[Any, Any]:
    """Plain paho at QoS 1 with the agent's sequence numbers: no outbox, no waiting for the hub's acks."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"load-{job.agent_id}")
    client.max_inflight_messages_set(200)
    acked = [0]
    client.on_publish = lambda *_: acked.__setitem__(0, acked[0] + 1)
    client.connect(config.host, config.port)
    client.loop_start()
    topics = config.topics
    seq = [int(time.time() * 1000)]
    sent = [0]

    def send(draft: Draft) -> None:
        seq[0] += 1
        client.publish(topics.agent_events(job.agent_id, draft.kind), draft.payload(seq[0]), qos=1)
        sent[0] += 1

    def finish(drain_s: float) -> bool:
        deadline = time.monotonic() + drain_s
        while acked[0] < sent[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        client.disconnect()
        client.loop_stop()
        return acked[0] >= sent[0]

    return send, finish


# Cheap raw publishers: pre-built payload templates, paced into Mosquitto's C client ----------------------
_SEQ_SENTINEL = 2**53 - 1
_SET_ID_SENTINEL = "SETIDSENTINEL"
_SENTINEL_TIMES = {f"t{i}": datetime(2001 + i, 1, 1, tzinfo=UTC) for i in range(3)}


def _template(model: Event, **times: str) -> str:
    """A payload as a %-format string: seq, set_id and the named datetimes become fields filled at send time."""
    text = model.to_json().decode().replace("%", "%%")
    text = text.replace(f'"seq":{_SEQ_SENTINEL}', '"seq":%(seq)d').replace(_SET_ID_SENTINEL, "%(set_id)s")
    for slot, name in times.items():
        iso = _SENTINEL_TIMES[slot].isoformat().replace("+00:00", "Z")
        assert f'"{iso}"' in text, (slot, text)
        text = text.replace(f'"{iso}"', f'"%({name})s"')
    return text


@dataclass
class TemplateStation:
    """One station of one agent, replaying its recording as payload templates (built once, filled per event).

    Same events as ``StationReplay`` (set new/update per rep, set end, rests compressed), dated at creation
    in whole microseconds: a rep starts when it is sent (and after the station's previous rep), a set when
    its first rep is sent.
    """

    agent_id: str
    station: str
    items: list[tuple[str, str, tuple[int, int]]]  # (kind, template, (turn offset us, end offset us) or set flags)
    position: int = 0
    set_id: str = ""
    set_start_us: int = 0
    last_us: int = 0

    @classmethod
    def build(cls, agent_id: str, station: str, exercise: Exercise, recording: list[CountEvent]) -> TemplateStation:
        """The station's drafts from its set assembler, with sentinels for seq, set id and times."""
        sets = SetAssembler(agent_id, station, exercise)
        items: list[tuple[str, str, tuple[int, int]]] = []
        for event in recording:
            for draft in sets.take([event], 0.0):
                items.append(_template_item(draft, event))
        return cls(agent_id, station, items)

    def next_line(self, now_us: int, seq: int) -> tuple[str, bytes, bool]:
        """(kind, payload line, whether this event opens a new set)."""
        kind, template, (a, b) = self.items[self.position]
        self.position = (self.position + 1) % len(self.items)
        if kind == "reps":
            start = self.last_us = max(now_us, self.last_us + 1)
            if not self.set_id or self._opens_set():
                self.set_start_us = max(start, self.set_start_us + 1000)
                self.set_id = set_id_for(self.agent_id, self.station, self.set_start_us / 1e6)
            fields = {"seq": seq, "set_id": self.set_id, "start": _iso_us(start), "turn": _iso_us(start + a),
                      "end": _iso_us(start + b)}
            return kind, (template % fields).encode() + b"\n", False
        fields = {"seq": seq, "set_id": self.set_id, "set_start": _iso_us(self.set_start_us),
                  "set_end": _iso_us(max(now_us, self.last_us))}
        return kind, (template % fields).encode() + b"\n", bool(a)

    def _opens_set(self) -> bool:
        """The rep at the current position is the first of a set (its set-new item follows it)."""
        _, _, (first, _) = self.items[self.position]
        return bool(first)


def _template_item(draft: Draft, event: CountEvent) -> tuple[str, str, tuple[int, int]]:
    """A rep: (kind, template, (turn offset us, end offset us)); a set: (kind, template, (opens set, ends set))."""
    t0, t1, t2 = _SENTINEL_TIMES.values()
    fields = {**draft.fields, "set_id": _SET_ID_SENTINEL}
    if isinstance(event, RepCompleted) and draft.kind is EventKind.REPS:
        rep = event.rep
        model = Draft(draft.kind, {**fields, "started_at": t0, "turned_at": t1, "ended_at": t2}).build(_SEQ_SENTINEL)
        offsets = (round((rep.turn_s - rep.start_s) * 1e6), round(rep.duration_s * 1e6))
        return "reps", _template(model, t0="start", t1="turn", t2="end"), offsets
    phase = fields["event"]
    if phase == SetPhase.END:
        model = Draft(draft.kind, {**fields, "started_at": t0, "ended_at": t1}).build(_SEQ_SENTINEL)
        return "sets", _template(model, t0="set_start", t1="set_end"), (0, 1)
    model = Draft(draft.kind, {**fields, "started_at": t0}).build(_SEQ_SENTINEL)
    return "sets", _template(model, t0="set_start"), (int(phase == SetPhase.NEW), 0)


_ISO_SECONDS: dict[int, str] = {}


def _iso_us(unix_us: int) -> str:
    seconds, micro = divmod(unix_us, 1_000_000)
    base = _ISO_SECONDS.get(seconds)
    if base is None:
        base = _ISO_SECONDS[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{base}.{micro:06d}Z"


class FeederPipes:
    """The feeder's ``mosquitto_pub -l`` clients, and each agent's events waiting for its next message.

    As the agents' publisher does: with a linger, each agent's events of the last ``publish_linger_s``
    leave as one batch message (at most ``batch_max_events``) on its batch topic; without, one message
    per event on the per-kind topics.
    """

    def __init__(self, agent_ids: list[str], mqtt_section: dict[str, Any]) -> None:
        config = MqttConfig.model_validate(mqtt_section)
        topics = config.topics
        self.agent_ids = agent_ids
        self.linger_s, self.most = config.publish_linger_s, config.batch_max_events
        self.batched = self.linger_s > 0 and self.most > 1
        host, port = str(mqtt_section["host"]), str(mqtt_section["port"])
        self.pubs: dict[tuple[int, str], subprocess.Popen[bytes]] = {}
        for a, agent in enumerate(agent_ids):
            for kind in ("batch",) if self.batched else ("sets", "reps"):
                topic = topics.agent_batch(agent) if self.batched else topics.agent_events(agent, kind)
                self.pubs[a, kind] = subprocess.Popen(
                    ["mosquitto_pub", "-h", host, "-p", port, "-q", "1", "-l", "-M", "100", "-i",
                     f"load-{agent}-{kind}", "-t", topic], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.waiting: list[list[tuple[EventKind, bytes]]] = [[] for _ in agent_ids]
        self.out: dict[tuple[int, str], list[bytes]] = {}
        self.next_batch = 0.0

    def add(self, a: int, kind: str, line: bytes) -> None:
        if self.batched:
            self.waiting[a].append((EventKind(kind), line[:-1]))
        else:
            self.out.setdefault((a, kind), []).append(line)

    def send(self, now: float, *, last: bool = False) -> None:
        """Write what is due: single events at once, batches once per linger (and everything at the end)."""
        if self.batched and (now >= self.next_batch or last):
            self.next_batch = now + self.linger_s
            for a, items in enumerate(self.waiting):
                for first in range(0, len(items), self.most):
                    batch = encode_batch(self.agent_ids[a], items[first:first + self.most])
                    self.out.setdefault((a, "batch"), []).append(batch + b"\n")
                items.clear()
        for key, lines in self.out.items():
            stdin = self.pubs[key].stdin
            assert stdin is not None
            stdin.write(b"".join(lines))
            stdin.flush()
        self.out.clear()

    def close(self, drain_s: float) -> bool:
        """Let every client deliver and exit; False if one had to be killed at the deadline."""
        for pub in self.pubs.values():
            assert pub.stdin is not None
            pub.stdin.close()
        deadline = time.monotonic() + drain_s
        drained = True
        for pub in self.pubs.values():
            try:
                pub.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pub.kill()
                pub.wait()
                drained = False
        return drained


def feeder_main(agent_ids: list[str], rate: float, duration_s: float, drain_s: float, mqtt_section: dict[str, Any],
                recordings: list[list[CountEvent]], go: Any, results: Any) -> None:
    """All raw agents in one process: fill templates at the offered rate into ``mosquitto_pub`` clients."""
    stations = [[TemplateStation.build(agent, name, exercise, recordings[(a * 4 + i) % len(recordings)])
                 for i, (name, exercise) in enumerate(STATIONS)] for a, agent in enumerate(agent_ids)]
    pipes = FeederPipes(agent_ids, mqtt_section)
    seqs = [int(time.time() * 1000)] * len(agent_ids)
    turn = [0] * len(agent_ids)
    produced, reps, sets, behind_s = 0, 0, 0, 0.0
    time.sleep(1.0)  # every client connected
    go.wait()
    start = time.time()
    while (now := time.time()) < start + duration_s:
        due = int((now - start) * rate) - produced
        behind_s = max(behind_s, due / rate - 0.01)
        now_us = time.time_ns() // 1000
        for n in range(due):
            a = (produced + n) % len(agent_ids)
            station = stations[a][turn[a] % 4]
            turn[a] += 1
            seqs[a] += 1
            kind, line, opens = station.next_line(now_us, seqs[a])
            pipes.add(a, kind, line)
            reps += kind == "reps"
            sets += opens
        produced += due
        pipes.send(now)
        time.sleep(0.01)
    publish_s = time.time() - start
    pipes.send(time.time(), last=True)
    drained = pipes.close(drain_s)
    times = os.times()
    results.put({"agent": "feeder", "produced": produced, "sets": sets, "reps": reps, "behind_s": behind_s,
                 "publish_s": publish_s, "drained": drained, "cpu_s": times.user + times.system,
                 "pub_cpu_s": times.children_user + times.children_system})


# The naive baseline: one HTTP POST per event, on arrival ---------------------------------------------
def naive_main(mqtt_section: dict[str, Any], influx_url: str, db: str, ready: Any, written: Any) -> None:
    """What a simple bridge does: subscribe, and write each event to InfluxDB as it comes (no batching)."""
    config = MqttConfig.model_validate(mqtt_section)
    host, port = influx_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        item = decode_incoming(config.topics, message.topic, bytes(message.payload))
        for event in item.events if isinstance(item, DecodedBatch) else [item]:
            if isinstance(event, SetEvent):
                line = set_line(event, event.member)
            elif isinstance(event, RepEvent):
                line = rep_line(event)
            else:
                continue
            connection.request("POST", f"/write?db={db}&precision=ns", body=line.encode())
            response = connection.getresponse()
            response.read()
            if response.status != 204:
                print(f"naive: InfluxDB answered {response.status}", file=sys.stderr)
                continue
            with written.get_lock():
                written.value += 1

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="load-naive")
    client.on_message = on_message
    wildcard = config.topics.agent_events("+", "sets").removesuffix("/sets")
    client.on_connect = lambda c, *_: c.subscribe([(f"{wildcard}/{kind}", 1) for kind in ("sets", "reps", "batch")])
    client.on_subscribe = lambda *_: ready.set()
    client.connect(config.host, config.port)
    client.loop_forever()


# Observers in the bench process ------------------------------------------------------------------------
class Poller(threading.Thread):
    """Creation → visible in InfluxDB for every rep of the probe agent (its rep timestamps are creation times)."""

    def __init__(self, influx: InfluxDB1, db: str, agent: str, since_ns: int) -> None:
        super().__init__(daemon=True)
        self.influx, self.db, self.agent, self.last_ns = influx, db, agent, since_ns
        self.latencies_s: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            query = f'SELECT "index" FROM "rep" WHERE "agent" = \'{self.agent}\' AND time > {self.last_ns}'
            rows = self.influx.rows(query, self.db)
            seen = time.time()
            for row in rows:
                self.latencies_s.append(seen - row["time"] / 1e9)
                self.last_ns = max(self.last_ns, int(row["time"]))
            time.sleep(POLL_S)


class Sampler(threading.Thread):
    """RSS of one process every second, from /proc/<pid>/status."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []  # (monotonic s, RSS MiB)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), rss_mib(self.pid)))
            self.stop.wait(1.0)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slope_mib_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope over the last 75 % of the samples (after warm-up), in MiB per minute."""
    steady = samples[len(samples) // 4:]
    if len(steady) < 3:
        return float("nan")
    return statistics.linear_regression([t for t, _ in steady], [m for _, m in steady]).slope * 60


def influx_points(influx: InfluxDB1, db: str) -> int:
    total = 0
    for measurement, fieldname in (("rep", "index"), ("set", "reps")):
        rows = influx.rows(f'SELECT count("{fieldname}") FROM "{measurement}"', db, epoch=None)
        total += int(rows[0]["count"]) if rows else 0
    return total


def hub_stat(influx: InfluxDB1, db: str, fieldname: str) -> float | None:
    rows = influx.rows(f'SELECT max("{fieldname}") FROM "agent_stats" WHERE "source" = \'hub\'', db, epoch=None)
    return float(rows[0]["max"]) if rows and rows[0]["max"] is not None else None


def journal_events(path: Path) -> int:
    if not path.exists():
        return 0
    reader = JournalReader(path)
    try:
        return reader.counts()["events"]
    finally:
        reader.close()


# Phases ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    phase: str
    produced: int = 0
    expected_points: int = 0
    recorded: int = 0  # journal rows (hub) or events written (naive)
    recorded_in_window: int = 0
    points: int = 0
    duration_s: float = 0.0
    drain_s: float = 0.0  # after the window, until every point was in InfluxDB (or gave up)
    behind_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    hub_median_ms: float | None = None
    hub_p99_ms: float | None = None
    duplicates: float | None = None
    messages: float | None = None  # MQTT messages the hub received (events arrive several per message in batches)
    rss: list[tuple[float, float]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Bench:
    args: argparse.Namespace
    scratch: Path
    mosquitto: Mosquitto
    influx: InfluxDB1
    recordings: list[list[CountEvent]]

    def mqtt_section(self, prefix: str) -> dict[str, Any]:
        return {"host": self.mosquitto.host, "port": self.mosquitto.port, "prefix": prefix, "keepalive_s": 30,
                "publish_linger_s": self.args.linger, "batch_max_events": 200 if self.args.linger > 0 else 1}

    def run_phase(self, phase: str) -> Result:
        db, prefix = f"load_{phase}", f"load{phase}"
        self.influx.create_database(db)
        result = Result(phase)
        server, journal, counter = self._start_receiver(phase, db, prefix)
        pids = {"mosquitto": self.mosquitto.pid, "influxd": self.influx.pid, "receiver": server.pid}
        ctx = mp.get_context("fork")
        go, queue = ctx.Event(), ctx.Queue()
        agent_ids = [f"{phase}_{i:02d}" for i in range(self.args.agents)]
        if phase in ("raw", "naive"):  # one feeder process and mosquitto_pub clients: cheap, no outbox
            agents = [ctx.Process(target=feeder_main, args=(
                agent_ids, self.args.rate, self.args.duration, self.args.drain, self.mqtt_section(prefix),
                self.recordings, go, queue))]
        else:  # "outbox": the agents' real path; "paho": the same agents, plain paho QoS 1, no outbox
            mode = "outbox" if phase == "outbox" else "raw"
            agents = [ctx.Process(target=agent_main, args=(self._job(phase, i, mode, prefix), go, queue))
                      for i in range(self.args.agents)]
        for agent in agents:
            agent.start()
        cpu0 = {name: cpu_s(pid) for name, pid in pids.items() if pid}
        sampler = Sampler(server.pid)
        sampler.start()
        time.sleep(3.0)  # agents connected
        start_ns = time.time_ns()
        poller = Poller(self.influx, db, agent_ids[0], start_ns)
        poller.start()
        go.set()
        t0 = time.monotonic()
        time.sleep(self.args.duration)
        result.recorded_in_window = counter()
        reports = [queue.get(timeout=self.args.drain + 120) for _ in agents]
        for agent in agents:
            agent.join()
        result.produced = sum(r["produced"] for r in reports)
        result.expected_points = sum(r["reps"] + r["sets"] for r in reports)
        result.duration_s = statistics.median(r["publish_s"] for r in reports)
        result.behind_s = max(r["behind_s"] for r in reports)
        if "pub_cpu_s" in reports[0]:
            result.cpu["feeder"] = reports[0]["cpu_s"]
            result.cpu["mosquitto_pub"] = reports[0]["pub_cpu_s"]
        else:
            result.cpu["agents"] = sum(r["cpu_s"] for r in reports)
        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline and (counter() < result.produced if phase != "naive" else True):
            if influx_points(self.influx, db) >= result.expected_points:
                break
            time.sleep(0.5)
        while time.monotonic() < deadline and influx_points(self.influx, db) < result.expected_points:
            time.sleep(0.5)
        result.drain_s = time.monotonic() - t0 - result.duration_s
        time.sleep(2 * POLL_S + 0.5)
        poller.stop.set()
        poller.join()
        result.latencies_s = poller.latencies_s
        result.recorded = counter()
        result.points = influx_points(self.influx, db)
        if phase != "naive":
            time.sleep(self.args.stats_s + 1)  # a last stats report after the drain
            result.hub_median_ms = hub_stat(self.influx, db, "latency_ms")
            result.hub_p99_ms = hub_stat(self.influx, db, "latency_p99_ms")
            result.duplicates = hub_stat(self.influx, db, "count_duplicates")
            result.messages = hub_stat(self.influx, db, "count_received")
        result.cpu.update({name: cpu_s(pid) - cpu0[name] for name, pid in pids.items() if pid})
        sampler.stop.set()
        sampler.join()
        result.rss = sampler.samples
        server.terminate()
        server.wait(timeout=30)
        del journal
        return result

    def _job(self, phase: str, index: int, mode: str, prefix: str) -> AgentJob:
        return AgentJob(f"{phase}_{index:02d}", mode, self.args.rate / self.args.agents, self.args.duration,
                        self.args.drain, self.mqtt_section(prefix), str(self.scratch / phase / "agents"),
                        self.recordings)

    def _start_receiver(self, phase: str, db: str, prefix: str) -> tuple[Any, Path | None, Any]:
        """The real hub (``replens hub run``) or the naive subscriber, as a process of its own."""
        if phase == "naive":
            ctx = mp.get_context("fork")
            ready, written = ctx.Event(), ctx.Value("q", 0)
            naive = ctx.Process(target=naive_main, args=(self.mqtt_section(prefix), self.influx.url, db, ready,
                                                          written), daemon=True)
            naive.start()
            ready.wait(30)
            return _Proc(naive), None, lambda: int(written.value)
        data = self.scratch / phase / "hub"
        config = {"version": 1, "data_dir": str(data), "mqtt": self.mqtt_section(prefix),
                  "hub": {"stats_interval_s": self.args.stats_s},
                  "influxdb": {"api_version": 1, "host": self.influx.host, "port": self.influx.port, "database": db}}
        path = self.scratch / phase / "replens.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        log = (self.scratch / phase / "hub.log").open("wb")
        process = subprocess.Popen([str(Path(sys.executable).parent / "replens"), "hub", "run", "--config", str(path)],
                                   stdout=log, stderr=subprocess.STDOUT)
        journal = load_config(path, env={}).journal_path()
        wait_until(journal.exists, 30, message="hub did not start")
        time.sleep(1.0)
        return process, journal, lambda: journal_events(journal)


@dataclass
class _Proc:
    """A multiprocessing.Process with the few Popen methods the phase uses."""

    process: Any

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def terminate(self) -> None:
        self.process.terminate()

    def wait(self, timeout: float) -> None:
        self.process.join(timeout)


# Report ------------------------------------------------------------------------------------------------
def percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def report(args: argparse.Namespace, results: list[Result]) -> None:
    batches = (f"events of {args.linger * 1000:.0f} ms per message (batches)" if args.linger > 0
               else "one event per message")
    print(f"{args.agents} agents x 4 stations, {batches}, offered {args.rate:.0f} events/s for {args.duration:.0f} s; "
          f"{os.cpu_count()} CPUs; latency = creation at the agent -> visible in InfluxDB (polled every "
          f"{POLL_S * 1000:.0f} ms, probe agent: 1 in {args.agents})")
    head = (f"{'phase':<8}{'produced':>9}{'recorded':>9}{'lost':>6}{'points':>8}{'expect':>8}{'doubled':>8}"
            f"{'in-window ev/s':>15}{'drain s':>8}{'lag s':>7}{'med ms':>8}{'p99 ms':>8}{'n':>6}"
            f"{'hub med/p99 ms':>16}{'RSS start/end/max MiB':>23}{'MiB/min':>8}")
    print(head)
    for r in results:
        lost = r.produced - r.recorded if r.phase != "naive" else r.expected_points - r.points
        doubled = max(0, r.points - r.expected_points) + (max(0, r.recorded - r.produced) if r.phase != "naive" else 0)
        hub = "-" if r.hub_median_ms is None else f"{r.hub_median_ms:.0f}/{r.hub_p99_ms:.0f}"
        rss = [m for _, m in r.rss]
        print(f"{r.phase:<8}{r.produced:>9}{r.recorded:>9}{lost:>6}{r.points:>8}{r.expected_points:>8}{doubled:>8}"
              f"{r.recorded_in_window / r.duration_s:>15.0f}{r.drain_s:>8.1f}{r.behind_s:>7.2f}"
              f"{percentile_ms(r.latencies_s, 0.5):>8.0f}{percentile_ms(r.latencies_s, 0.99):>8.0f}"
              f"{len(r.latencies_s):>6}{hub:>16}"
              f"{f'{rss[0]:.0f}/{rss[-1]:.0f}/{max(rss):.0f}':>23}{slope_mib_min(r.rss):>8.2f}")
    print("hub RSS MiB at 0/25/50/75/100 % of the run: " + "; ".join(
        f"{r.phase}: " + "/".join(f"{r.rss[min(len(r.rss) - 1, q * (len(r.rss) - 1) // 4)][1]:.0f}" for q in range(5))
        for r in results if r.rss))
    print("events per MQTT message at the hub: " + "; ".join(
        f"{r.phase}: {r.produced / r.messages:.1f}" for r in results if r.messages))
    print("CPU seconds per 1000 events: " + "; ".join(
        f"{r.phase}: " + ", ".join(f"{k} {v * 1000 / max(1, r.produced):.2f}" for k, v in sorted(r.cpu.items()))
        for r in results))
    by = {r.phase: r for r in results}
    if "naive" in by:
        base = by["naive"]
        for ours in (by.get("raw"), by.get("outbox")):
            if ours is None:
                continue
            rate = (ours.recorded_in_window / ours.duration_s) / max(1e-9, base.recorded_in_window / base.duration_s)
            print(f"ratio {ours.phase}/naive: in-window rate {rate:.2f}x, median latency "
                  f"{percentile_ms(ours.latencies_s, 0.5) / percentile_ms(base.latencies_s, 0.5):.3f}, p99 latency "
                  f"{percentile_ms(ours.latencies_s, 0.99) / percentile_ms(base.latencies_s, 0.99):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--rate", type=float, default=5000.0, help="offered events per second, all agents")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing per phase")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds allowed to catch up afterwards")
    parser.add_argument("--stats-s", type=float, default=5.0, help="the hub's stats interval")
    parser.add_argument("--phases", default="outbox,raw,naive")
    parser.add_argument("--linger", type=float, default=MqttConfig().publish_linger_s,
                        help="agents' publish_linger_s: events of this many seconds travel in one message; "
                             "0: one message per event (no batches)")
    args = parser.parse_args()
    recordings = record(8)
    reps = [sum(isinstance(e, RepCompleted) for e in r) for r in recordings]
    sets = [sum(isinstance(e, SetEnded) for e in r) for r in recordings]
    print(f"recording: 8 variants of the sample clip's stack signal counted by RepCounter: reps {reps}, sets {sets}")
    with tempfile.TemporaryDirectory(prefix="replens-load-") as tmp:
        scratch = Path(tmp)
        # As in config/mosquitto/mosquitto.conf: the default queue of 1,000 messages per subscriber drops
        # QoS 1 messages whenever the hub (or the naive bridge) pauses for a fraction of a second at this rate.
        mosquitto = Mosquitto(scratch / "mosquitto", extra_config=MOSQUITTO_QUEUE)
        influx = InfluxDB1(scratch / "influx")
        mosquitto.start()
        influx.start()
        bench = Bench(args, scratch, mosquitto, influx, recordings)
        try:
            results = [bench.run_phase(phase) for phase in args.phases.split(",")]
        finally:
            mosquitto.stop()
            influx.stop()
    report(args, results)


if __name__ == "__main__":
    main()
