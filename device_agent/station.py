"""One station: tracker → counter → set bookkeeping, giving wire events with ids and wall-clock times."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from replens.config.agent import StationConfig
from replens.contract import EventKind, Exercise, RepSummary, SetPhase, StationState, set_id_for, utc_from_unix
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.drafts import Draft
from replens.device_agent.identity.appearance import Appearance, AppearanceAccumulator, describe
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.registry import PosePipeline, StationPipeline, make_pipeline

APPEARANCE_EVERY_S = 0.5  # clothing colour samples of the lifter (pose stations): cheap at this rate
APPEARANCE_KEEP_S = 120.0


@dataclass
class OpenSet:
    set_id: str
    started_wall_s: float
    rest_before_s: float | None
    reps: list[RepMeasurement] = field(default_factory=list)
    partial_reps: int = 0


@dataclass(frozen=True, slots=True)
class FinishedSet:
    """What the CLI and the demo print."""

    set_id: str
    station: str
    exercise: Exercise
    started_wall_s: float
    ended_wall_s: float
    reps: tuple[RepMeasurement, ...]
    rest_before_s: float | None = None
    partial_reps: int = 0


class Station:
    """Owns the per-station state; the agent calls :meth:`process` for every frame."""

    def __init__(self, agent_id: str, station_id: str, config: StationConfig,
                 pipeline: StationPipeline | None = None) -> None:
        self.agent_id = agent_id
        self.station_id = station_id
        self.exercise = config.exercise
        self.weight_kg = config.weight_kg
        self.paused = False
        """Set by a pause command: frames are ignored, nothing is counted, until resumed."""
        self.pipeline = pipeline or make_pipeline(config)
        self.finished: list[FinishedSet] = []
        self._open: OpenSet | None = None
        self._wall_offset_s = 0.0  # wall time minus media time of the current source
        self._looks: deque[tuple[float, Appearance]] = deque()  # (media time, clothing colour)

    def process(self, frame: Frame) -> list[Draft]:
        self._wall_offset_s = frame.wall_time_s - frame.t_s
        if self.paused:
            return []
        events = self.pipeline.update(frame)
        self._sample_appearance(frame)
        return self._translate(events)

    def _sample_appearance(self, frame: Frame) -> None:
        """The lifter's clothing colour, so the hub can tell members apart when several are in."""
        if not isinstance(self.pipeline, PosePipeline) or self.pipeline.last_pose is None:
            return
        if self._looks and frame.t_s - self._looks[-1][0] < APPEARANCE_EVERY_S:
            return
        looks = describe(frame.image, self.pipeline.last_pose.landmarks)
        if looks is not None:
            self._looks.append((frame.t_s, looks))
        while self._looks and frame.t_s - self._looks[0][0] > APPEARANCE_KEEP_S:
            self._looks.popleft()

    def _appearance_since(self, wall_s: float) -> Appearance | None:
        mean = AppearanceAccumulator()
        for t_s, looks in self._looks:
            if self._wall(t_s) >= wall_s - 5.0:
                mean.add(looks)
        return mean.mean()

    def finish(self, t_s: float) -> list[Draft]:
        """End the set under way (end of source, an end-set command); the counter is then ready for more."""
        return self._translate(self.pipeline.finish(t_s))

    def pause(self, t_s: float) -> list[Draft]:
        """Stop counting; the set under way ends now (``t_s``: media time of the latest frame)."""
        drafts = self.finish(t_s) if not self.paused else []
        self.paused = True
        return drafts

    def resume(self) -> None:
        self.paused = False

    @property
    def total_reps(self) -> int:
        """Reps in finished sets plus the set in progress."""
        return sum(len(s.reps) for s in self.finished) + (len(self._open.reps) if self._open else 0)

    def state(self) -> StationState:
        open_set = self._open
        return StationState(
            exercise=self.exercise,
            set_active=open_set is not None,
            set_id=open_set.set_id if open_set else None,
            reps=len(open_set.reps) if open_set else 0,
            paused=self.paused,
        )

    # counter events → wire drafts ---------------------------------------------------------------
    def _translate(self, events: list[CountEvent]) -> list[Draft]:
        drafts: list[Draft] = []
        for event in events:
            if isinstance(event, SetStarted):
                start = self._wall(event.start_s)
                self._open = OpenSet(set_id_for(self.agent_id, self.station_id, start), start,
                                     event.rest_before_s)
            elif isinstance(event, RepCompleted) and self._open is not None:
                self._open.reps.append(event.rep)
                drafts.append(self._rep_draft(self._open, event.rep))
                phase = SetPhase.NEW if len(self._open.reps) == 1 else SetPhase.UPDATE
                drafts.append(self._set_draft(self._open, phase, None))
            elif isinstance(event, PartialRep) and self._open is not None:
                self._open.partial_reps += 1
                drafts.append(self._set_draft(self._open, SetPhase.UPDATE, None))
            elif isinstance(event, SetEnded) and self._open is not None:
                end = self._wall(event.end_s)
                drafts.append(self._set_draft(self._open, SetPhase.END, end))
                self.finished.append(FinishedSet(self._open.set_id, self.station_id, self.exercise,
                                                 self._open.started_wall_s, end, tuple(self._open.reps),
                                                 self._open.rest_before_s, self._open.partial_reps))
                self._open = None
        return drafts

    def _wall(self, t_s: float) -> float:
        return self._wall_offset_s + t_s

    def _common(self, open_set: OpenSet) -> dict[str, object]:
        return {"agent_id": self.agent_id, "set_id": open_set.set_id, "station": self.station_id,
                "exercise": self.exercise}

    def _rep_draft(self, open_set: OpenSet, rep: RepMeasurement) -> Draft:
        return Draft(EventKind.REPS, {
            **self._common(open_set),
            "index": rep.index,
            "started_at": utc_from_unix(self._wall(rep.start_s)),
            "turned_at": utc_from_unix(self._wall(rep.turn_s)),
            "ended_at": utc_from_unix(self._wall(rep.end_s)),
            "concentric_s": rep.concentric_s,
            "eccentric_s": rep.eccentric_s,
            "pause_s": rep.pause_s,
            "rom": rep.rom,
            "rom_m": rep.rom_m,
            "mean_velocity_m_s": rep.mean_velocity_m_s,
            "peak_velocity_m_s": rep.peak_velocity_m_s,
            "confidence": min(1.0, max(0.0, rep.confidence)),
        })

    def _set_draft(self, open_set: OpenSet, phase: SetPhase, ended_wall_s: float | None) -> Draft:
        summaries = [
            RepSummary(index=r.index, duration_s=r.duration_s, rom=r.rom, rom_m=r.rom_m,
                       mean_velocity_m_s=r.mean_velocity_m_s, concentric_s=r.concentric_s,
                       eccentric_s=r.eccentric_s, pause_s=r.pause_s)
            for r in open_set.reps
        ]
        return Draft(EventKind.SETS, {
            **self._common(open_set),
            "event": phase,
            "reps": len(open_set.reps),
            "partial_reps": open_set.partial_reps,
            "started_at": utc_from_unix(open_set.started_wall_s),
            "ended_at": utc_from_unix(ended_wall_s) if ended_wall_s is not None else None,
            "rest_before_s": open_set.rest_before_s,
            "rep_summaries": summaries,
            "appearance": self._appearance_payload(open_set),
            "weight_kg": self.weight_kg,
        })

    def _appearance_payload(self, open_set: OpenSet) -> dict[str, list[float]] | None:
        looks = self._appearance_since(open_set.started_wall_s)
        return None if looks is None else {"torso": list(looks.torso), "legs": list(looks.legs)}
