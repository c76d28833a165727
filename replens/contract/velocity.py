"""The stop cue of velocity-based training: a set's velocity loss reached the station's target.

Not an outbox event: a cue to stop the set is only worth anything while the lifter is still under the bar,
so it is published once, live (QoS 1, not retained), and the hub drops one that arrives stale
(:data:`MAX_CUE_AGE_S`) instead of resending or storing it. The set's events carry the loss for the record.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from replens.contract.events import Count, Id, SetId, Velocity, WireModel
from replens.contract.exercises import Exercise

Percent = Annotated[float, Field(ge=0.0, le=100.0)]
TargetPercent = Annotated[float, Field(gt=0.0, lt=100.0)]
"""A velocity-loss target: 0 would stop every set at its second rep, 100 never."""

MAX_CUE_AGE_S = 15.0
"""The hub drops a cue older than this (agent's ``at`` to the hub's clock): a late beep would fall in the rest
or the next set. Agents and hub keep their clocks in step (NTP) as set times already need."""


class VelocityLossReached(WireModel):
    """A set reached its station's velocity-loss target: QoS 1, not retained.

    Topics ``<prefix>/agent/<agent_id>/velocity_loss`` (agent → hub) and
    ``<prefix>/station/<agent_id>/<station>/velocity_loss`` (hub → integrations).

    Once per set, at the first rep whose velocity loss (fastest rep's mean concentric velocity to this
    rep's, :func:`replens.metrics.velocity_loss_pct`) reaches the station's ``end_set_at_velocity_loss_pct``.
    Shaped for Home Assistant's MQTT event entity (``event_type`` plus attributes).
    """

    event_type: Literal["velocity_loss_reached"] = "velocity_loss_reached"
    agent_id: Id
    station: Id
    set_id: SetId
    exercise: Exercise
    member: Id | None = Field(default=None, description="The set's member where the hub knows it, else null.")
    reps: Count = Field(description="Reps in the set so far, the one that reached the target included.")
    loss_pct: Percent = Field(description="Velocity loss so far: fastest rep to the latest, in percent.")
    target_pct: TargetPercent = Field(description="The station's end_set_at_velocity_loss_pct.")
    best_velocity_m_s: Velocity = Field(description="Mean concentric velocity of the set's fastest rep.")
    latest_velocity_m_s: Velocity = Field(description="Mean concentric velocity of the latest rep.")
    at: AwareDatetime = Field(description="When the agent saw the target reached.")
