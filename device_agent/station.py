"""One station: tracker → counter → set assembler, giving wire events with ids and wall-clock times."""

from __future__ import annotations

from collections import deque

from replens.config.agent import StationConfig
from replens.contract import Appearance, Exercise, StationState, VelocityLossReached
from replens.device_agent.drafts import Draft
from replens.device_agent.identity.appearance import AppearanceAccumulator, AppearanceSample, describe
from replens.device_agent.sets import CountedSet, SetAssembler
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.registry import PosePipeline, StationPipeline, make_pipeline
from replens.device_agent.velocity_loss import VelocityLossWatch

APPEARANCE_EVERY_S = 0.5  # clothing colour samples of the lifter (pose stations): cheap at this rate
APPEARANCE_KEEP_S = 120.0


class Station:
    """Owns the per-station state; the agent calls :meth:`process` for every frame."""

    def __init__(self, agent_id: str, station_id: str, config: StationConfig,
                 pipeline: StationPipeline | None = None) -> None:
        self.agent_id = agent_id
        self.station_id = station_id
        self.candidates = config.candidates
        self.recognises = config.recognises
        self.paused = False
        """Set by a pause command: frames are ignored, nothing is counted, until resumed."""
        self.units = config.units
        self.pipeline = pipeline or make_pipeline(config)
        self.sets = SetAssembler(agent_id, station_id, config.named, weight_kg=config.weight_kg,
                                 appearance=self._appearance_since, hold_reps=config.recognises)
        target = config.end_set_at_velocity_loss_pct
        self.velocity_loss = None if target is None else VelocityLossWatch(agent_id, station_id, target)
        self.cues: list[VelocityLossReached] = []
        """Stop cues not yet taken by the agent (live, never stored: see replens.contract.velocity)."""
        self._wall_offset_s = 0.0  # wall time minus media time of the current source
        self._looks: deque[tuple[float, AppearanceSample]] = deque()  # (media time, clothing colour)

    def process(self, frame: Frame) -> list[Draft]:
        self._wall_offset_s = frame.wall_time_s - frame.t_s
        if self.paused:
            return []
        events = self.pipeline.update(frame)
        self._sample_appearance(frame)
        drafts = self.sets.take(events, self._wall_offset_s)
        if self.velocity_loss is not None and drafts:
            self.cues += self.velocity_loss.observe(drafts, frame.wall_time_s)
        return drafts

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
        """The lifter's mean clothing colour from a few seconds before ``wall_s`` (a set's start) on."""
        mean = AppearanceAccumulator()
        for t_s, looks in self._looks:
            if self._wall_offset_s + t_s >= wall_s - 5.0:
                mean.add(looks)
        return mean.mean()

    def finish(self, t_s: float) -> list[Draft]:
        """End the set under way (end of source, an end-set command); the counter is then ready for more."""
        return self.sets.take(self.pipeline.finish(t_s), self._wall_offset_s)

    def pause(self, t_s: float) -> list[Draft]:
        """Stop counting; the set under way ends now (``t_s``: media time of the latest frame)."""
        drafts = self.finish(t_s) if not self.paused else []
        self.paused = True
        return drafts

    def resume(self) -> None:
        self.paused = False

    def set_load(self, weight_kg: float) -> list[Draft]:
        """The load on the bar or stack now: for the set under way (an update carries it) and later sets."""
        return self.sets.set_load(weight_kg)

    @property
    def load_kg(self) -> float | None:
        return self.sets.weight_kg

    @property
    def exercise(self) -> Exercise:
        """The set under way's exercise (as recognised so far, at a station that recognises), else the station's."""
        return self.sets.open.exercise if self.sets.open is not None else self.sets.exercise

    @property
    def finished(self) -> list[CountedSet]:
        """Sets this station has ended, oldest first."""
        return self.sets.finished

    @property
    def total_reps(self) -> int:
        """Reps in finished sets plus the set in progress."""
        open_set = self.sets.open
        return sum(len(s.reps) for s in self.finished) + (len(open_set.reps) if open_set else 0)

    def state(self) -> StationState:
        open_set = self.sets.open
        return StationState(
            exercise=self.exercise,
            set_active=open_set is not None,
            set_id=open_set.set_id if open_set else None,
            reps=len(open_set.reps) if open_set else 0,
            paused=self.paused,
            exercises=list(self.candidates) if self.recognises and self.candidates is not None else [],
            load_kg=self.sets.weight_kg,
            units=self.units,
            end_set_at_velocity_loss_pct=None if self.velocity_loss is None else self.velocity_loss.target_pct,
        )
