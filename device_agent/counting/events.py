"""What a counter reports: domain events in media time, before they get ids and wall-clock times."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RepMeasurement:
    """One completed repetition, times in media seconds.

    ``rom`` is in signal units; ``rom_m`` and the velocities are set only when the station has a
    scale (metres per signal unit).
    """

    index: int  # 1-based within the set
    start_s: float
    turn_s: float  # the turning point (top for a stack, bottom for a squat)
    end_s: float
    rom: float
    concentric_s: float
    eccentric_s: float
    confidence: float
    rom_m: float | None = None
    mean_velocity_m_s: float | None = None
    peak_velocity_m_s: float | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def pause_s(self) -> float:
        """Time held at the turning point: the part of the rep that is neither concentric nor eccentric."""
        return max(0.0, self.duration_s - self.concentric_s - self.eccentric_s)


@dataclass(frozen=True, slots=True)
class SetStarted:
    """A set began with its first rep (emitted together with that rep's RepCompleted)."""

    start_s: float
    rest_before_s: float | None


@dataclass(frozen=True, slots=True)
class RepCompleted:
    rep: RepMeasurement


@dataclass(frozen=True, slots=True)
class PartialRep:
    """A clear movement inside a set that fell short of a full rep: flagged, never counted."""

    start_s: float
    end_s: float
    rom: float  # signal units, below the station's smallest rep


@dataclass(frozen=True, slots=True)
class SetEnded:
    """No rep for the configured rest time, or the source ended; ``end_s`` is the last rep's end.

    It carries no reps: whoever keeps the set (:class:`~replens.device_agent.sets.SetAssembler`)
    collected them from the RepCompleted events, so the counter need not hold them too.
    """

    end_s: float
    quality: str | None = None  # pose engines: "good", "fallback" or "poor" (see pose_trust.quality)


CountEvent = SetStarted | RepCompleted | PartialRep | SetEnded
