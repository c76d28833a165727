"""Training figures that the agent (offline counting) and the hub (InfluxDB points) both compute."""

from __future__ import annotations

from collections.abc import Sequence

MIN_REPS_FOR_LOSS = 2


def velocity_loss_pct(velocities: Sequence[float]) -> float | None:
    """Drop from the fastest rep to the last one, in percent: velocity-based training's fatigue figure.

    None when it is undefined: fewer than two reps with a velocity, or no positive velocity.
    """
    if len(velocities) < MIN_REPS_FOR_LOSS or max(velocities) <= 0:
        return None
    best = max(velocities)
    return max(0.0, (best - velocities[-1]) / best * 100.0)
