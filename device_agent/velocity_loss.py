"""The set's velocity loss watched rep by rep: one stop cue per set when it reaches the station's target.

Velocity-based training ends a set at a chosen loss of mean concentric velocity (fatigue), so the cue
must come at the rep that reached it. The loss is :func:`replens.metrics.velocity_loss_pct`, the same
figure the set's InfluxDB point carries: from the set's fastest rep to its latest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from replens.contract import EventKind, Exercise, RepSummary, SetPhase, VelocityLossReached, utc_from_unix
from replens.device_agent.drafts import Draft
from replens.metrics import velocity_loss_pct

ROUNDING_PCT = 1e-9
"""Float rounding to forgive: 0.5 → 0.4 m/s is a 20 % loss, computed as 19.999999999999996."""


@dataclass(frozen=True, slots=True)
class LossReached:
    loss_pct: float
    best_m_s: float
    latest_m_s: float


def loss_reached(velocities: Sequence[float | None], target_pct: float) -> LossReached | None:
    """The set's loss if its latest rep has a velocity and the loss from the fastest rep reached ``target_pct``.

    A latest rep without a velocity decides nothing (its speed is unknown), even when an earlier rep's
    loss was past the target: the cue is about the rep just done.
    """
    if not velocities or velocities[-1] is None:
        return None
    measured = [v for v in velocities if v is not None]
    loss = velocity_loss_pct(measured)
    if loss is None or loss + ROUNDING_PCT < target_pct:
        return None
    return LossReached(loss, max(measured), measured[-1])


class VelocityLossWatch:
    """One station's watch: reads its set drafts, gives at most one cue per set id.

    In memory only: a restarted agent ends the set that was under way and starts a new one, so no set
    can be cued twice; nor can a set whose exercise the recogniser changed (same set id).
    """

    def __init__(self, agent_id: str, station: str, target_pct: float) -> None:
        self.agent_id = agent_id
        self.station = station
        self.target_pct = target_pct
        self._cued: str | None = None  # the latest set cued; a station's sets never interleave

    def observe(self, drafts: Iterable[Draft], at_s: float) -> list[VelocityLossReached]:
        """Cues for the sets under way in ``drafts`` (``at_s``: UNIX time now); an ended set is past cueing."""
        cues: list[VelocityLossReached] = []
        for draft in drafts:
            fields = draft.fields
            if draft.kind is not EventKind.SETS or fields["event"] == SetPhase.END or fields["set_id"] == self._cued:
                continue
            summaries: list[RepSummary] = fields["rep_summaries"]  # type: ignore[assignment]
            reached = loss_reached([r.mean_velocity_m_s for r in summaries], self.target_pct)
            if reached is None:
                continue
            self._cued = str(fields["set_id"])
            cues.append(VelocityLossReached(
                agent_id=self.agent_id, station=self.station, set_id=self._cued,
                exercise=Exercise(str(fields["exercise"])),
                reps=len(summaries), loss_pct=reached.loss_pct, target_pct=self.target_pct,
                best_velocity_m_s=reached.best_m_s, latest_velocity_m_s=reached.latest_m_s, at=utc_from_unix(at_s)))
        return cues
