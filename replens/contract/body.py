"""A member's body weight, set from Home Assistant (or any MQTT client): the load of their bodyweight exercises.

``replens members set NAME --body-weight 80`` writes the same to the hub's journal directly. Body weight is
personal: it travels only on the hub's command topic and the member's own retained state, never in a log line
that names the member.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from replens.contract.events import Id, WireModel
from replens.contract.load import MAX_LOAD_KG

MIN_BODY_WEIGHT_KG = 20.0
"""Below any lifter's body weight: a smaller figure is a typo (or pounds read as kilograms the other way)."""

BodyWeightKg = Annotated[float, Field(ge=MIN_BODY_WEIGHT_KG, le=MAX_LOAD_KG, allow_inf_nan=False)]


class BodyWeightCommand(WireModel):
    """Topic ``<prefix>/hub/body_weight``: a member's body weight from now on (Home Assistant's number).

    Later sets of push-ups, pull-ups, dips and the like weigh this plus any added weight; earlier sets keep
    theirs. The hub refuses (logs, counts in ``edits_rejected``, changes nothing) a member it does not know.
    """

    member: Id = Field(description="The member's id (not the name).")
    kg: BodyWeightKg = Field(description=f"Body weight in kg ({MIN_BODY_WEIGHT_KG:g} to {MAX_LOAD_KG:g}).")
    by: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Who set it (free text; Home Assistant says homeassistant).")
