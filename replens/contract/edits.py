"""Corrections of recorded sets: what a person says a set was, by set id or as a station's last set.

Every edit carries an ``edit_id`` chosen by its sender (a UUID will do): the hub applies an id once, so
the same edit delivered twice, or again after a restart, changes nothing the second time. A field left
out (null) is not changed: every field is optional and at least one is required. A set's exercise, load
(``weight_kg``, always kilograms on the wire) and reps can be corrected; whose set it was is a claim
(``ClaimCommand``), which ``replens sets edit --member`` sends along.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from replens.contract.events import Count, Id, SetField, SetId, WeightKg, WireModel
from replens.contract.exercises import Exercise

EditId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
"""Like a set id: letters, digits, ``_ . : -``; unique per edit (a UUID, or ``ha.<time>`` from Home Assistant)."""
By = Annotated[str, StringConstraints(max_length=64)]


class EditVia(StrEnum):
    """The path a correction took to the journal (kept in its audit trail)."""

    CLI = "cli"
    MQTT = "mqtt"
    HOMEASSISTANT = "homeassistant"
    WEB = "web"  # the members' page (hub.web)


HOMEASSISTANT_BY = "homeassistant"
"""``by`` in the commands RepLens' Home Assistant entities send: such an edit is recorded as via homeassistant."""


class SetChanges(WireModel):
    """The fields one edit corrects; each optional, at least one given."""

    exercise: Exercise | None = Field(default=None, description="The exercise the set really was (not auto).")
    weight_kg: WeightKg | None = Field(default=None, description="The load really lifted, in kg (0 to 2000).")
    reps: Count | None = Field(default=None, description="The reps really done; the agent's rep events stay.")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.exercise is Exercise.AUTO:
            raise ValueError("exercise: auto names no exercise; give the one the set was")
        if not self.changes():
            raise ValueError(f"an edit must change something: give one of {', '.join(SetField)}")
        return self

    def changes(self) -> dict[SetField, object]:
        """Field → new value, for the fields this edit sets."""
        return {f: value for f in SetField if (value := getattr(self, f.value)) is not None}


class SetEdit(SetChanges):
    """Topic ``<prefix>/hub/edit``: correct a recorded set (``replens sets edit`` writes the same to the journal)."""

    edit_id: EditId = Field(description="Unique per edit: the hub applies an id once, whatever arrives again.")
    set_id: SetId
    by: By | None = Field(default=None, description="Who made it (free text; Home Assistant says homeassistant).")


class EditLastCommand(SetChanges):
    """Topic ``<prefix>/hub/edit_last``: correct a station's most recent ended set (Home Assistant's select).

    The hub turns it into a ``SetEdit`` of the set that is the station's last ended one when it arrives.
    """

    edit_id: EditId = Field(description="Unique per edit: the hub applies an id once, whatever arrives again.")
    agent_id: Id
    station: Id
    by: By | None = None


def exercise_named(text: str) -> Exercise:
    """The exercise called ``text`` (any case, spaces or dashes for underscores); ValueError with a did-you-mean."""
    name = text.strip().lower().replace(" ", "_").replace("-", "_")
    known = [e.value for e in Exercise if e is not Exercise.AUTO]
    if name in known:
        return Exercise(name)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown exercise {text!r}{hint} (one of: {', '.join(known)})")
