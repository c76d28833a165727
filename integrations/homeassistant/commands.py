"""What Home Assistant's controls send: command topics, payloads and templates, built from the contract's models.

Every command carries ``by: homeassistant``, so the hub can tell (and record) that Home Assistant sent it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from replens.contract import (
    KG_PER_LB,
    MAX_LOAD_KG,
    MIN_BODY_WEIGHT_KG,
    BodyWeightCommand,
    ClaimLastCommand,
    EditLastCommand,
    Exercise,
    LoadUnit,
    StationCommand,
    StationCommandKind,
    Topics,
)
from replens.contract.edits import HOMEASSISTANT_BY
from replens.integrations.homeassistant.entities import NOBODY, Command

BY = HOMEASSISTANT_BY
EDIT_ID = "ha.{{ now().timestamp() }}"
"""The edit id Home Assistant renders for each choice: unique per choice, the same if MQTT delivers it twice."""
ALL_EXERCISES = tuple(e.value for e in Exercise if e is not Exercise.AUTO)
"""The correction select's options where the hub does not know which exercises a station hosts."""

Payload = dict[str, Any]
MAX_REPS_SHOWN = 1000
"""The reps number's upper end in Home Assistant (the contract allows more; no set has this many)."""
_EDITED = {Command.EDIT_LAST: "exercise", Command.EDIT_LAST_LOAD: "weight_kg", Command.EDIT_LAST_REPS: "reps"}
"""The corrections of the last set: the field each one edits."""
_NUMBERS: dict[Command, Payload] = {
    Command.SET_LOAD: {"min": 0, "max": MAX_LOAD_KG, "step": 0.25, "mode": "box"},
    Command.EDIT_LAST_LOAD: {"min": 0, "max": MAX_LOAD_KG, "step": 0.25, "mode": "box"},
    Command.EDIT_LAST_REPS: {"min": 0, "max": MAX_REPS_SHOWN, "step": 1, "mode": "box"},
    Command.BODY_WEIGHT: {"min": MIN_BODY_WEIGHT_KG, "max": MAX_LOAD_KG, "step": 0.1, "mode": "box"},
}
"""Number entities: their range and step (kg for loads)."""


def body_weight_payload(topics: Topics, member_id: str) -> Payload:
    """The member's body weight number: a ``BodyWeightCommand`` with the number's value (kg) filled in."""
    sample = BodyWeightCommand(member=member_id, kg=50.5, by=BY).model_dump_json(by_alias=True)
    if '"kg":50.5' not in sample:
        raise RuntimeError(f"BodyWeightCommand no longer serialises its kg as expected: {sample}")
    return {"command_topic": topics.body_weight, "command_template": sample.replace('"kg":50.5', '"kg":{{ value }}'),
            **_NUMBERS[Command.BODY_WEIGHT]}


def _station_command(station: str, kind: StationCommandKind) -> str:
    return StationCommand(station=station, command=kind, by=BY).model_dump_json(by_alias=True, exclude_none=True)


def command_payload(topics: Topics, command: Command, agent_id: str, station: str, options: Sequence[str]) -> Payload:
    """The command side of an entity; ``options``: a select's choices (member names, or exercises)."""
    if command is Command.COUNTING:
        return {"command_topic": topics.agent_command(agent_id), "state_on": "ON", "state_off": "OFF",
                "payload_on": _station_command(station, StationCommandKind.RESUME),
                "payload_off": _station_command(station, StationCommandKind.PAUSE)}
    if command is Command.END_SET:
        return {"command_topic": topics.agent_command(agent_id),
                "payload_press": _station_command(station, StationCommandKind.END_SET)}
    if command is Command.SET_LOAD:
        return {"command_topic": topics.agent_command(agent_id), "command_template": _load_template(station),
                **_NUMBERS[command]}
    if command in _EDITED:
        payload = {"command_topic": topics.edit_last,
                   "command_template": _edit_template(agent_id, station, _EDITED[command])}
        return payload | (_NUMBERS[command] if command in _NUMBERS else {"options": list(options)})
    # The selected option goes into the JSON with tojson, so any name (quotes included) stays valid JSON.
    template = ClaimLastCommand(agent_id=agent_id, station=station, member="@member@", by=BY).model_dump_json(
        by_alias=True).replace('"@member@"', "{{ value | tojson }}")
    return {"command_topic": topics.claim_last, "command_template": template,
            "options": [*sorted(options, key=str.casefold), NOBODY]}


_SAMPLES: dict[str, tuple[object, str, str]] = {
    "exercise": (Exercise.SQUAT, '"exercise":"squat"', '"exercise":{{ value | tojson }}'),
    "weight_kg": (1.5, '"weight_kg":1.5', '"weight_kg":{{ value | float }}'),
    "reps": (7, '"reps":7', '"reps":{{ value | int }}'),
}
"""Per corrected field: a sample value, how it serialises, and what Home Assistant renders in its place."""


def _edit_template(agent_id: str, station: str, field: str) -> str:
    """An ``EditLastCommand`` of one field, with the chosen value and a fresh edit id filled in by Home Assistant."""
    value, fixed_value, rendered_value = _SAMPLES[field]
    sample = EditLastCommand.model_validate({"edit_id": "x", "agent_id": agent_id, "station": station, field: value,
                                             "by": BY})
    template = sample.model_dump_json(by_alias=True, exclude_none=True)
    for fixed, rendered in (('"edit_id":"x"', f'"edit_id":"{EDIT_ID}"'), (fixed_value, rendered_value)):
        if fixed not in template:
            raise RuntimeError(f"EditLastCommand no longer serialises {fixed}: {template}")
        template = template.replace(fixed, rendered)
    return template


def _load_template(station: str) -> str:
    """A ``set_load`` ``StationCommand`` with the number's value (kg) filled in by Home Assistant."""
    sample = StationCommand(station=station, command=StationCommandKind.SET_LOAD, load=1.0, unit=LoadUnit.KG, by=BY)
    template = sample.model_dump_json(by_alias=True)
    if '"load":1.0' not in template:
        raise RuntimeError(f"StationCommand no longer serialises its load as expected: {template}")
    return template.replace('"load":1.0', '"load":{{ value }}')


_POUNDS_TO_KG = f"{{{{ ((value | float) * {KG_PER_LB}) | round(3) }}}}"
"""A command template's value typed in pounds, sent as kilograms (``to_kg``, in Jinja)."""


def in_pounds(key: str, station: str, payload: Payload) -> Payload:
    """The entity ``key`` of a station whose ``units`` are lb, shown and set in pounds (RepLens keeps kg).

    Only the load entities change: the station's load number, the last set's load number and its weight sensor.
    """
    kg_json = {"load": f"value_json.stations['{station}'].load_kg"}.get(key, "value_json.weight_kg")
    if key not in ("load", "correct_load", "last_set_weight"):
        return payload
    shown = dict(payload, unit_of_measurement=LoadUnit.LB.value, value_template=_in_pounds(kg_json, None))
    if key == "load":
        sample = StationCommand(station=station, command=StationCommandKind.SET_LOAD, load=1.0, unit=LoadUnit.LB, by=BY)
        shown["command_template"] = sample.model_dump_json(by_alias=True).replace('"load":1.0', '"load":{{ value }}')
    if key == "correct_load":
        shown["command_template"] = str(payload["command_template"]).replace("{{ value | float }}", _POUNDS_TO_KG)
    if key in ("load", "correct_load"):
        shown.update(max=round(MAX_LOAD_KG / KG_PER_LB, 1), step=0.5)
    return shown


MEMBER_KG: dict[str, tuple[str, str | None]] = {
    "volume_today": ("value_json.volume_today_kg", None),
    "volume_week": ("value_json.volume_week_kg", None),
    "velocity_e1rm": ("value_json.velocity_e1rm.velocity_e1rm_kg", "value_json.velocity_e1rm"),
    "body_weight": ("value_json.body_weight_kg", None),
}
"""The member entities in kg: key → (the figure in the member's state, what must be there for it to be)."""


def _in_pounds(kg_json: str, guard: str | None) -> str:
    """A kg figure of the member's state as pounds to 0.1 lb (``from_kg``, in Jinja); 'None' where it is null."""
    known = f"{guard} and {kg_json} is not none" if guard else f"{kg_json} is not none"
    return f"{{{{ (({kg_json} / {KG_PER_LB}) | round(1)) if {known} else 'None' }}}}"


def member_in_pounds(key: str, payload: Payload) -> Payload:
    """The member entity ``key`` of a member whose unit is lb, shown (and, for body weight, set) in pounds.

    The member's state keeps kg; only the entities in kg change (:data:`MEMBER_KG`). Attributes stay as sent
    (``last_set``'s ``LastSet``, ``velocity_e1rm``'s estimate, in kg): Home Assistant (2024.3) keeps an entity's
    first attributes template while its topic stays the same, so a unit-dependent one would go stale.
    """
    if key not in MEMBER_KG:
        return payload
    shown = dict(payload, unit_of_measurement=LoadUnit.LB.value, value_template=_in_pounds(*MEMBER_KG[key]))
    if key == "body_weight":
        shown.update(command_template=str(payload["command_template"]).replace(
            '"kg":{{ value }}', f'"kg":{_POUNDS_TO_KG}'),
            min=round(MIN_BODY_WEIGHT_KG / KG_PER_LB, 1), max=round(MAX_LOAD_KG / KG_PER_LB, 1), step=0.1)
    return shown
