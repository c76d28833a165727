"""``replens demo --serve``: the whole loop on embedded defaults, with nothing installed beyond the virtualenv.

The bundled clip runs through a real agent, an embedded MQTT broker (amqtt, in a thread of this process), the
real hub with its journal and the members' page. A demo member stands in for a member whom the entrance camera
saw come in (a visit written to the journal, as the door agent would send it); the hub attributes the clip's sets
to her as the only member present. The page's address, with her invite link, is printed; Ctrl-C stops it all.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from replens.config import RepLensConfig
from replens.contract import SetPhase, VisitEvent, VisitRole
from replens.errors import RepLensError

log = logging.getLogger(__name__)

DEMO_MEMBER = "Demo Member"
DOOR_AGENT = "demo_door"
LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class EmbeddedBroker:
    """amqtt on a loopback port, in a thread with its own event loop; anonymous (it listens on 127.0.0.1 only)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="demo-broker", daemon=True)
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout_s) or self.error is not None:
            raise RepLensError(f"the demo's embedded MQTT broker did not start on port {self.port}: {self.error}")

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except Exception as err:  # reported to start()
            self.error = err
            self._started.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        self._stop = asyncio.Event()
        broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        })
        await broker.start()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await broker.shutdown()


def demo_config(data_dir: Path, broker_port: int, web_port: int) -> RepLensConfig:
    return RepLensConfig.model_validate({
        "data_dir": str(data_dir),
        "mqtt": {"host": LOOPBACK, "port": broker_port, "keepalive_s": 5},
        "hub": {"stats_interval_s": 5, "web": {"listen": LOOPBACK, "port": web_port}},
    })


def _enrol_and_arrive(config: RepLensConfig) -> str:
    """The demo member (a made-up face descriptor, consent recorded) and her visit at the entrance just now."""
    from replens.hub.journal import Inbound, Journal
    from replens.members import MembersStore

    with MembersStore(config.members_db()) as members:
        member = members.add(DEMO_MEMBER, [np.full(128, 0.05)], consent=True).id
    now = datetime.now(UTC)
    journal = Journal(config.journal_path())
    try:
        journal.record(Inbound(events=[VisitEvent(
            agent_id=DOOR_AGENT, seq=1, visit_id=f"{DOOR_AGENT}.1", camera="door", role=VisitRole.ENTRANCE,
            event=SetPhase.NEW, member=member, score=0.9, frames=5, started_at=now - timedelta(minutes=2),
            seen_at=now - timedelta(minutes=2) + timedelta(seconds=3))]))
    finally:
        journal.close()
    return member


def run_demo_loop(web_port: int, *, console: Console | None = None, stop: threading.Event | None = None) -> int:
    """Until Ctrl-C (or ``stop``): broker, hub with the page, the clip through an agent; prints the URL."""
    from replens.cli.demo import DEMO_AGENT, demo_agent_config, sample_clip
    from replens.device_agent.app import Agent
    from replens.hub.runner import HubThread
    from replens.hub.web.access import AccessStore, access_path

    console = console or Console()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _as_ctrl_c)  # `kill`, `timeout`, a service manager: stop as on Ctrl-C
    for chatty in ("amqtt", "transitions"):  # the embedded broker logs every connection and state change at INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="replens-demo-") as scratch:
        broker = EmbeddedBroker(_free_port())
        broker.start()
        config = demo_config(Path(scratch), broker.port, web_port)
        member = _enrol_and_arrive(config)
        hub_thread = HubThread(config)
        try:
            hub = hub_thread.start()
            assert hub.web is not None
            if not _wait(hub.web.started, 10):
                raise RepLensError(f"the members' page did not start on {LOOPBACK}:{web_port}")
            clip = sample_clip()
            console.print(f"Counting {clip.path.name} through the embedded broker into the hub…")
            summary = Agent(DEMO_AGENT, demo_agent_config(clip), config.mqtt, Path(scratch) / "agent").run()
            sets = _attributed_sets(hub.journal, member, len(summary.sets))
            access = AccessStore(access_path(config.hub_data_dir()))
            token = access.invite(member, timedelta(days=1)).token
            access.close()
            _print_today(console, sets, f"http://{LOOPBACK}:{hub.web.port}/i/{token}")
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            console.print("Stopping…")
        finally:
            hub_thread.stop()
            broker.stop()
    return 0


def _as_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait(event: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not event.is_set():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _attributed_sets(journal: Any, member: str, expected: int) -> list[Any]:
    """The member's sets once the hub has recorded and attributed all of the clip's (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        sets = journal.member_sets(member)
        if (len(sets) >= expected and all(s.ended for s in sets)) or time.monotonic() > deadline:
            return list(sets)
        time.sleep(0.1)


def _print_today(console: Console, sets: list[Any], url: str) -> None:
    table = Table(title=f"Today: {DEMO_MEMBER}'s sets, as the hub recorded them")
    for column in ("time", "station", "exercise", "reps", "who (how)"):
        table.add_column(column)
    for s in sets:
        table.add_row(s.started_at.astimezone().strftime("%H:%M:%S"), s.station, s.exercise.value, str(s.reps),
                      f"{DEMO_MEMBER} ({s.identity_source})")
    console.print(table)
    console.print(f"The members' page, logged in as {DEMO_MEMBER}:")
    console.print(url, soft_wrap=True, highlight=False)  # one line, whatever the terminal's width
    console.print("Ctrl-C stops the demo.")
