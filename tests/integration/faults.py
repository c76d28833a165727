"""Fault injectors for tests/integration/test_faults.py: a broker behind a cuttable link, full disks, stats taps.

All of them need root (network namespaces, mounts). When the kernel or the container refuses, they raise
with the command and its error: the tests fail with that message, they are never skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from replens.contract import Stats, utc_from_unix
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher
from tests.servers import Mosquitto


def sh(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()} "
                           f"(needs root with CAP_NET_ADMIN / CAP_SYS_ADMIN)")


class NetworkLink:
    """A network namespace joined to ours by a veth pair: the broker lives on the far side.

    ``cut()`` takes the far end down: like a cable pulled at the switch, packets vanish silently and
    only MQTT keepalives notice (no RST, no ICMP), which is the hard case for the clients.
    """

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.netns = f"rl{tag}"
        self.near, self.far = f"rln{tag}", f"rlf{tag}"
        octet = random.randint(1, 250)
        self.near_ip, self.far_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"

    def __enter__(self) -> NetworkLink:
        sh("ip", "netns", "add", self.netns)
        try:
            sh("ip", "link", "add", self.near, "type", "veth", "peer", "name", self.far)
            sh("ip", "link", "set", self.far, "netns", self.netns)
            sh("ip", "addr", "add", f"{self.near_ip}/30", "dev", self.near)
            sh("ip", "link", "set", self.near, "up")
            self.inside("ip", "addr", "add", f"{self.far_ip}/30", "dev", self.far)
            self.inside("ip", "link", "set", "lo", "up")
            self.restore()
        except BaseException:
            self.__exit__()
            raise
        return self

    def inside(self, *argv: str) -> None:
        sh("ip", "netns", "exec", self.netns, *argv)

    def cut(self) -> None:
        self.inside("ip", "link", "set", self.far, "down")

    def restore(self) -> None:
        self.inside("ip", "link", "set", self.far, "up")

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(RuntimeError):
            sh("ip", "netns", "del", self.netns)  # takes the veth pair with it
        with contextlib.suppress(RuntimeError):
            sh("ip", "link", "del", self.near)


class NamespacedMosquitto(Mosquitto):
    """Mosquitto started inside ``link``'s namespace, listening on the far end of the veth pair."""

    def __init__(self, workdir: Path, link: NetworkLink) -> None:
        super().__init__(workdir, host=link.far_ip)
        self.link = link

    def _choose_ports(self) -> None:
        self.port = 18830  # the namespace is ours alone

    def _command(self, executable: str) -> list[str]:
        return ["ip", "netns", "exec", self.link.netns, *super()._command(executable)]


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem says ENOSPC; delete it to give the space back."""
    filler = disk / "filler.bin"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(chunk)
    with contextlib.suppress(OSError), filler.open("ab", buffering=0) as out:  # the last partial block
        while True:
            out.write(b"\0")
    return filler


class StatsTap:
    """Collects every Stats payload: the hub's on ``<prefix>/stats``, agents' on ``<prefix>/agent/<id>/stats``."""

    def __init__(self, broker: Mosquitto, prefix: str) -> None:
        self.seen: list[dict[str, Any]] = []
        self._topic = f"{prefix}/stats"
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe([(self._topic, 0), (f"{prefix}/agent/+/stats", 0)])
        self._client.on_message = lambda _c, _u, m: self.seen.append(json.loads(m.payload))
        self._client.reconnect_delay_set(1, 2)
        self._client.connect_async(broker.host, broker.port, keepalive=5)
        self._client.loop_start()

    def of(self, source: str) -> list[dict[str, Any]]:
        return [s for s in list(self.seen) if s["source"] == source]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class AgentStatsReporter:
    """Publishes the agent's health every second as ``Agent._publish_stats`` does (depth, oldest event)."""

    def __init__(self, agent_id: str, outbox: Outbox, publisher: Publisher, skew_s: float = 0.0) -> None:
        self._args = agent_id, outbox, publisher, skew_s
        self._stop = threading.Event()
        self.max_depth = 0
        self.max_oldest_s = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        agent_id, outbox, publisher, skew_s = self._args
        while not self._stop.wait(1.0):
            depth, oldest = outbox.depth(), outbox.oldest_age_s()
            self.max_depth = max(self.max_depth, depth)
            self.max_oldest_s = max(self.max_oldest_s, oldest or 0.0)
            stats = Stats(source="agent", id=agent_id, at=utc_from_unix(time.time() + skew_s), uptime_s=1.0,
                          outbox_depth=depth, outbox_oldest_s=oldest,
                          counters={"published": publisher.published, "confirmed": publisher.confirmed})
            publisher.publish_stats(stats.to_json())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def env_seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))
