"""The agent: one frame source, its stations, the outbox and the publisher, wired as a list of steps."""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from replens.backoff import Backoff
from replens.config.agent import AgentConfig
from replens.config.identity import IdentityConfig
from replens.config.mqtt import MqttConfig
from replens.contract import (
    AgentState,
    EnrolCommand,
    EnrolResult,
    EventKind,
    SetPhase,
    StationCommand,
    StationCommandKind,
    Stats,
    utc_from_unix,
)
from replens.device_agent.drafts import Draft
from replens.device_agent.identity.setup import make_watchers
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher
from replens.device_agent.sets import CountedSet, set_end
from replens.device_agent.sources.frame import Frame
from replens.device_agent.sources.opencv_source import FrameSource, open_source
from replens.device_agent.station import Station
from replens.errors import SourceError, TransientError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Frame, "Agent"], None]


@dataclass
class AgentRunSummary:
    frames: int = 0
    elapsed_s: float = 0.0
    sets: list[CountedSet] = field(default_factory=list)
    events: int = 0
    drained: bool = True

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Agent:
    """Runs until the source ends or ``stop`` is set. Without MQTT settings it only counts (demo, tests)."""

    def __init__(self, agent_id: str, config: AgentConfig, mqtt: MqttConfig | None, data_dir: Path | None, *,
                 identity: IdentityConfig | None = None, members_db: Path | None = None) -> None:
        self.agent_id = agent_id
        self.config = config
        self.stations = [Station(agent_id, sid, sconf) for sid, sconf in config.stations.items()]
        self.watchers, self.entrance = make_watchers(agent_id, config, identity, members_db)
        self._enrolments: queue.SimpleQueue[EnrolCommand] = queue.SimpleQueue()
        self.enrol_results: list[EnrolResult] = []
        self.outbox: Outbox | None = None
        self.publisher: Publisher | None = None
        if mqtt is not None:
            if data_dir is None:
                raise ValueError(f"agent {agent_id}: publishing needs a data_dir for the outbox")
            self.outbox = Outbox(data_dir / "outbox.sqlite3")
            self.publisher = Publisher(mqtt, agent_id, self.outbox)
            self.publisher.on_command = self.command
            if self.entrance is not None:
                self.publisher.on_enrol = self.enrol
            for station in self.stations:
                station.paused = bool(self.outbox.flag(_paused_key(station.station_id)))
                grams = self.outbox.flag(_load_key(station.station_id))
                if grams is not None:  # a set_load command before a restart wins over the config's weight_kg
                    station.set_load(grams / 1000.0)
        self._commands: queue.SimpleQueue[StationCommand] = queue.SimpleQueue()
        self._frame_costs_s: deque[float] = deque(maxlen=600)
        self._unstored: deque[Draft] = deque()  # events the outbox could not take yet (disk full)
        self._store_alarm = False
        self._started = time.monotonic()
        self.events = 0
        self.cue_counts = {"velocity_cues": 0, "velocity_cues_dropped": 0}

    def run(self, stop: threading.Event | None = None, progress: ProgressCallback | None = None,
            drain_timeout_s: float = 30.0) -> AgentRunSummary:
        stop = stop or threading.Event()
        self._end_orphaned_sets()
        source = self._open_source(stop)
        summary = AgentRunSummary()
        if source is None:
            return summary
        if self.publisher is not None:
            self.publisher.start()
            self._publish_state()
        began = time.monotonic()
        next_stats = began + self.config.stats_interval_s
        last_t = 0.0
        try:
            for frame in source:
                if stop.is_set():
                    break
                self._step(frame)
                last_t = frame.t_s
                summary.frames += 1
                if progress is not None:
                    progress(frame, self)
                if time.monotonic() >= next_stats:
                    self._publish_stats(summary.frames / max(1e-9, time.monotonic() - began))
                    next_stats += self.config.stats_interval_s
        finally:
            source.close()
            self._wind_down(summary, last_t, began, drain_timeout_s)
        return summary

    def _wind_down(self, summary: AgentRunSummary, last_t: float, began: float, drain_timeout_s: float) -> None:
        """End open sets and visits, store and send what is left, close the outbox."""
        for station in self.stations:
            self._emit(station.finish(last_t))
        for watcher in self.watchers:
            self._emit(watcher.finish(last_t))
        if self._unstored:
            log.error("agent %s: exiting with %d events the outbox could not store: they are lost",
                      self.agent_id, len(self._unstored))
        summary.elapsed_s = time.monotonic() - began
        summary.sets = sorted((s for st in self.stations for s in st.finished), key=lambda s: s.started_wall_s)
        summary.events = self.events
        if self.publisher is not None:
            self._publish_state()
            self._publish_stats(summary.fps)
            summary.drained = self.publisher.wait_drained(drain_timeout_s)
            if not summary.drained:
                log.warning("agent %s: %d events still in the outbox at exit; they go out on the next start",
                            self.agent_id, self.outbox.depth() if self.outbox else 0)
            self.publisher.stop()
        if self.outbox is not None:
            self.outbox.close()

    def _open_source(self, stop: threading.Event) -> FrameSource | None:
        """A camera that is not there yet is waited for with backoff (no crash loop); a bad file is an error."""
        cfg = self.config.source
        live = isinstance(cfg.url, int) or "://" in cfg.url or cfg.url.strip().isdigit()
        backoff = Backoff(initial_s=1.0, maximum_s=60.0)
        while not stop.is_set():
            try:
                return open_source(cfg.url, realtime=cfg.realtime, fps_limit=cfg.fps_limit, loop=cfg.loop)
            except SourceError as err:
                if not live:
                    raise
                delay = backoff.next_delay()
                log.error("agent %s: %s; trying again in %.0f s", self.agent_id, err, delay)
                stop.wait(delay)
        return None

    def command(self, command: StationCommand) -> None:
        """Queue a command (any thread); the counting loop applies it before the next frame."""
        self._commands.put(command)

    def enrol(self, request: EnrolCommand) -> None:
        """Queue an enrolment request (any thread); the entrance watcher takes the next faces it sees."""
        self._enrolments.put(request)

    def _start_enrolments(self) -> None:
        while self.entrance is not None and not self._enrolments.empty():
            self.entrance.enrol(self._enrolments.get_nowait(), self._enrolled)

    def _enrolled(self, result: EnrolResult) -> None:
        self.enrol_results.append(result)
        if self.publisher is not None:
            self.publisher.publish_enrol_result(result.to_json())

    def _apply_commands(self, t_s: float) -> None:
        """Pause, resume or end a set at a station; the paused state survives restarts (outbox meta)."""
        changed = False
        while not self._commands.empty():
            command = self._commands.get_nowait()
            station = next((s for s in self.stations if s.station_id == command.station), None)
            if station is None:
                log.warning("agent %s: command %s for unknown station %s ignored",
                            self.agent_id, command.command, command.station)
                continue
            log.info("agent %s: station %s: %s (by %s)", self.agent_id, station.station_id, command.command,
                     command.by or "unknown")
            if command.command is StationCommandKind.END_SET:
                self._emit(station.finish(t_s))
            elif command.command is StationCommandKind.PAUSE:
                self._emit(station.pause(t_s))
            elif command.command is StationCommandKind.SET_LOAD and command.load_kg is not None:
                self._set_load(station, command.load_kg)
            else:
                station.resume()
            if command.command in (StationCommandKind.PAUSE, StationCommandKind.RESUME):
                self._keep(station, _paused_key(station.station_id), int(station.paused))
            changed = True
        if changed:
            self._publish_state()

    def _set_load(self, station: Station, load_kg: float) -> None:
        """Stored first (grams, in the outbox's meta), so the load a set carries is the one a restart keeps."""
        self._keep(station, _load_key(station.station_id), round(load_kg * 1000))
        log.info("agent %s: station %s: load %.3g kg", self.agent_id, station.station_id, load_kg)
        self._emit(station.set_load(load_kg))

    def _keep(self, station: Station, key: str, value: int) -> None:
        if self.outbox is None:
            return
        try:
            self.outbox.set_flag(key, value)
        except TransientError as err:
            log.error("agent %s: station %s: %s", self.agent_id, station.station_id, err)

    def _step(self, frame: Frame) -> None:
        began = time.perf_counter()
        if not self._commands.empty():
            self._apply_commands(frame.t_s)
        if not self._enrolments.empty():
            self._start_enrolments()
        drafts = [draft for station in self.stations for draft in station.process(frame)]
        drafts += [draft for watcher in self.watchers for draft in watcher.process(frame)]
        if drafts or self._unstored:
            self._emit(drafts)
        self._send_cues()
        self._frame_costs_s.append(time.perf_counter() - began)

    def _emit(self, drafts: list[Draft]) -> None:
        self.events += len(drafts)
        if self.outbox is None or self.publisher is None:
            return
        self._unstored.extend(drafts)
        if not self._unstored:
            return
        while self._unstored:
            draft = self._unstored[0]
            try:
                self._store(draft)
            except TransientError as err:
                # Disk full or unwritable: keep the events in memory, in order, and retry on every frame.
                if not self._store_alarm:
                    log.error("agent %s: cannot store events (%s); %d held in memory until it works again",
                              self.agent_id, err, len(self._unstored))
                    self._store_alarm = True
                break
            self._unstored.popleft()
        else:
            if self._store_alarm:
                log.warning("agent %s: outbox writable again; held events stored", self.agent_id)
                self._store_alarm = False
        self.publisher.wake()
        self._publish_state()

    def _send_cues(self) -> None:
        """Stop cues go out now or never: after the set they would only mislead (replens.contract.velocity)."""
        for station in self.stations:
            for cue in station.cues:
                self.cue_counts["velocity_cues"] += 1
                if self.publisher is not None and not self.publisher.publish_velocity_loss(cue.to_json()):
                    self.cue_counts["velocity_cues_dropped"] += 1
                    log.warning("agent %s: station %s: velocity loss %.1f %% reached in set %s while the broker is "
                                "away; the cue is dropped", self.agent_id, cue.station, cue.loss_pct, cue.set_id)
            station.cues.clear()

    def _store(self, draft: Draft) -> None:
        """Into the outbox, keeping the ledger of sets under way in the same transaction."""
        assert self.outbox is not None
        if draft.kind is not EventKind.SETS:
            self.outbox.append(draft.kind, draft.payload)
            return
        set_id = str(draft.fields["set_id"])
        if draft.fields["event"] == SetPhase.END:
            self.outbox.append(draft.kind, draft.payload, closed_set=set_id)
        else:  # the outbox keeps this event as the set's latest state, should the agent die before its end
            self.outbox.append(draft.kind, draft.payload, open_set=set_id)

    def _end_orphaned_sets(self) -> None:
        """Sets a killed earlier run left open get their ``end`` now, dated at their last update."""
        if self.outbox is None:
            return
        for unended in self.outbox.open_sets():
            log.warning("agent %s: set %s was left open by an earlier run (%d reps); ending it",
                        self.agent_id, unended.last.set_id, unended.last.reps)
            self._emit([set_end(unended.last, unended.updated_at)])

    def state(self) -> AgentState:
        return AgentState(
            agent_id=self.agent_id,
            updated_at=utc_from_unix(time.time()),
            stations={s.station_id: s.state() for s in self.stations},
        )

    def _publish_state(self) -> None:
        if self.publisher is not None:
            self.publisher.set_state(self.state().to_json())

    def _publish_stats(self, fps: float) -> None:
        if self.publisher is None or self.outbox is None:
            return
        costs = list(self._frame_costs_s)
        stats = Stats(
            source="agent",
            id=self.agent_id,
            at=utc_from_unix(time.time()),
            uptime_s=time.monotonic() - self._started,
            fps=fps,
            latency_ms=statistics.median(costs) * 1000 if costs else None,
            outbox_depth=self.outbox.depth(),
            outbox_oldest_s=self.outbox.oldest_age_s(),
            counters={"events": self.events, "published": self.publisher.published,
                      "confirmed": self.publisher.confirmed, "held_in_memory": len(self._unstored),
                      **self.cue_counts},
        )
        self.publisher.publish_stats(stats.to_json())


def _paused_key(station_id: str) -> str:
    return f"paused:{station_id}"


def _load_key(station_id: str) -> str:
    return f"load_g:{station_id}"
