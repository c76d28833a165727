"""End-to-end latency: rep completed at the agent → point visible in a real InfluxDB (median, p99).

Starts a real Mosquitto and a real InfluxDB 1.x on free ports, the hub in-process, and an agent-side
outbox + publisher that emits reps at a steady rate with ``ended_at`` = the moment they are produced.
A poller queries InfluxDB every 10 ms and notes when each rep first appears.
Baseline in the same run: the same reps written straight to InfluxDB with one HTTP request each,
measured by the same poller, so the ratio shows what the broker, hub, journal and outbox cost.

Usage: python bench/latency.py [--reps 300] [--interval-s 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replens.config import RepLensConfig  # noqa: E402
from replens.contract import EventKind, Exercise  # noqa: E402
from replens.device_agent.drafts import Draft  # noqa: E402
from replens.device_agent.outbox import Outbox  # noqa: E402
from replens.device_agent.publisher import Publisher  # noqa: E402
from replens.hub.runner import HubThread  # noqa: E402
from replens.hub.storage.line_protocol import format_line  # noqa: E402
from replens.hub.storage.points import ns  # noqa: E402
from tests.servers import InfluxDB1, Mosquitto  # noqa: E402


class Poller(threading.Thread):
    """Records the wall time at which each (set_id, index) first shows up in InfluxDB."""

    def __init__(self, influx: InfluxDB1, db: str, measurement: str) -> None:
        super().__init__(daemon=True)
        self.influx, self.db, self.measurement = influx, db, measurement
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            rows = self.influx.rows(f'SELECT "index" FROM "{self.measurement}"', self.db)
            now = time.time()
            for row in rows:
                self.seen.setdefault(int(row["index"]), now)
            time.sleep(0.01)


def rep_fields(agent: str, index: int, ended: datetime) -> dict[str, object]:
    return {"agent_id": agent, "set_id": f"{agent}.s.1", "station": "s", "exercise": Exercise.LAT_PULLDOWN,
            "index": index, "started_at": ended - timedelta(seconds=2), "turned_at": ended - timedelta(seconds=1),
            "ended_at": ended, "concentric_s": 1.0, "eccentric_s": 1.0, "rom": 80.0, "confidence": 1.0}


def measure(
    influx: InfluxDB1, db: str, reps: int, interval_s: float, emit: Callable[[int, float], None]
) -> list[float]:
    """Emit one rep every ``interval_s`` (index, completion time); latency = first visible − completed."""
    poller = Poller(influx, db, "rep")
    poller.start()
    ended: dict[int, float] = {}
    try:
        for index in range(1, reps + 1):
            ended[index] = time.time()
            emit(index, ended[index])
            time.sleep(interval_s)
        _wait(lambda: len(poller.seen) == reps, 60)
    finally:
        poller.stop.set()
    return [poller.seen[i] - ended[i] for i in range(1, reps + 1)]


def run_replens(mosquitto: Mosquitto, influx: InfluxDB1, reps: int, interval_s: float, scratch: Path) -> list[float]:
    db = "bench_replens"
    influx.create_database(db)
    config = RepLensConfig.model_validate({
        "data_dir": str(scratch), "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
        "influxdb": {"api_version": 1, "host": influx.host, "port": influx.port, "database": db,
                     "flush_interval_s": 0.0},
        "hub": {"ack_interval_s": 0.1},
    })
    hub_thread = HubThread(config)
    hub_thread.start()
    outbox = Outbox(scratch / "agent" / "outbox.sqlite3")
    publisher = Publisher(config.mqtt, "bench", outbox)
    publisher.start()

    def emit(index: int, now: float) -> None:
        fields = rep_fields("bench", index, datetime.fromtimestamp(now, UTC))
        outbox.append(EventKind.REPS, Draft(EventKind.REPS, fields).payload)
        publisher.wake()

    try:
        return measure(influx, db, reps, interval_s, emit)
    finally:
        publisher.stop()
        hub_thread.stop()


def run_baseline(influx: InfluxDB1, reps: int, interval_s: float) -> list[float]:
    db = "bench_direct"
    influx.create_database(db)

    def emit(index: int, now: float) -> None:
        line = format_line("rep", {"agent": "direct"}, {"index": index}, ns(datetime.fromtimestamp(now, UTC)))
        request = urllib.request.Request(f"{influx.url}/write?db={db}&precision=ns", data=line.encode(),
                                         method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    return measure(influx, db, reps, interval_s, emit)


def _wait(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("not every point became visible")
        time.sleep(0.05)


def summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--interval-s", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replens-bench-") as tmp:
        scratch = Path(tmp)
        mosquitto = Mosquitto(scratch / "mosquitto")
        influx = InfluxDB1(scratch / "influx")
        mosquitto.start()
        influx.start()
        try:
            baseline = run_baseline(influx, args.reps, args.interval_s)
            replens = run_replens(mosquitto, influx, args.reps, args.interval_s, scratch / "replens")
        finally:
            mosquitto.stop()
            influx.stop()
    b_med, b_p99 = summary(baseline)
    r_med, r_p99 = summary(replens)
    print(f"reps: {args.reps}, one every {args.interval_s * 1000:.0f} ms; visibility polled every 10 ms")
    print(f"{'path':<44}{'median ms':>10}{'p99 ms':>10}")
    print(f"{'direct HTTP write per rep (baseline)':<44}{b_med:>10.1f}{b_p99:>10.1f}")
    print(f"{'agent outbox → MQTT → hub → journal → InfluxDB':<44}{r_med:>10.1f}{r_p99:>10.1f}")
    print(f"ratio replens/baseline: median {r_med / b_med:.2f}, p99 {r_p99 / b_p99:.2f}")


if __name__ == "__main__":
    main()
