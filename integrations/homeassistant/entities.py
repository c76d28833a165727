"""What Home Assistant shows of RepLens, declared as data (Home Assistant's EntityDescription style).

Templates are Home Assistant (Jinja) templates; ``@station@`` stands for the station id. States come from
RepLens's retained topics (agent state and stats, the hub's last set per station and member states), so
Home Assistant shows the current values as soon as it subscribes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    """Home Assistant MQTT platforms RepLens uses (the ``<component>`` level of discovery topics)."""

    SENSOR = "sensor"
    BINARY_SENSOR = "binary_sensor"
    EVENT = "event"
    SWITCH = "switch"
    BUTTON = "button"
    SELECT = "select"
    NUMBER = "number"


class Source(StrEnum):
    """Which RepLens topic carries an entity's state."""

    AGENT_STATE = "agent_state"
    AGENT_STATS = "agent_stats"
    LAST_SET = "last_set"
    SET_COMPLETED = "set_completed"
    VELOCITY_LOSS = "velocity_loss"
    MEMBER_STATE = "member_state"
    PERSONAL_RECORD = "personal_record"
    HUB_AVAILABLE = "hub_available"


class Command(StrEnum):
    """What an entity sends back; the payload builder knows the topics and payloads."""

    COUNTING = "counting"  # switch: on = resume, off = pause
    END_SET = "end_set"  # button
    CLAIM_LAST = "claim_last"  # select of member names
    EDIT_LAST = "edit_last"  # select of exercises: corrects the last set's
    SET_LOAD = "set_load"  # number: the station's current load (kg)
    EDIT_LAST_LOAD = "edit_last_load"  # number: corrects the last set's load (kg)
    EDIT_LAST_REPS = "edit_last_reps"  # number: corrects the last set's reps
    BODY_WEIGHT = "body_weight"  # number: a member's body weight (kg)


STATION = "@station@"
NOBODY = "(nobody)"
"""The select option that says nobody enrolled did the last set."""

_STATION_JSON = f"value_json.stations['{STATION}']"


@dataclass(frozen=True, slots=True)
class EntityDescription:
    key: str
    """Stable part of unique_id and object_id; never change it (Home Assistant keys its registry on it)."""
    platform: Platform
    name: str
    source: Source | None = None
    value_template: str | None = None
    command: Command | None = None
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    icon: str | None = None
    diagnostic: bool = False
    """entity_category diagnostic, and disabled until the user enables it."""
    attributes_template: str | None = None
    """Attributes from the same topic as the state (``json_attributes_topic``)."""


STATION_ENTITIES: tuple[EntityDescription, ...] = (
    EntityDescription(
        "reps", Platform.SENSOR, "reps in set", Source.AGENT_STATE, f"{{{{ {_STATION_JSON}.reps }}}}",
        state_class="measurement", unit="reps", icon="mdi:counter",
    ),
    EntityDescription(
        "set_active", Platform.BINARY_SENSOR, "set active", Source.AGENT_STATE,
        f"{{{{ 'ON' if {_STATION_JSON}.set_active else 'OFF' }}}}", device_class="running",
    ),
    EntityDescription(
        "last_set_reps", Platform.SENSOR, "last set reps", Source.LAST_SET, "{{ value_json.reps }}",
        unit="reps", icon="mdi:counter", attributes_template="{{ value_json | tojson }}",
    ),
    EntityDescription(
        "last_set_exercise", Platform.SENSOR, "last set exercise", Source.LAST_SET, "{{ value_json.exercise }}",
        icon="mdi:weight-lifter",
    ),
    EntityDescription(
        "last_set_weight", Platform.SENSOR, "last set weight", Source.LAST_SET,
        "{{ value_json.weight_kg if value_json.weight_kg is not none else 'None' }}",
        device_class="weight", unit="kg",
    ),
    EntityDescription(
        "set_completed", Platform.EVENT, "set completed", Source.SET_COMPLETED, icon="mdi:flag-checkered"
    ),
    EntityDescription(
        "counting", Platform.SWITCH, "counting", Source.AGENT_STATE,
        f"{{{{ 'OFF' if {_STATION_JSON}.paused else 'ON' }}}}", command=Command.COUNTING, icon="mdi:play-pause",
    ),
    EntityDescription("end_set", Platform.BUTTON, "end set", command=Command.END_SET, icon="mdi:stop"),
    EntityDescription(
        "last_set_member", Platform.SELECT, "last set was", Source.LAST_SET,
        f"{{{{ value_json.member_name or '{NOBODY}' }}}}", command=Command.CLAIM_LAST, icon="mdi:account-question",
    ),
    EntityDescription(
        "load", Platform.NUMBER, "load", Source.AGENT_STATE,
        f"{{{{ {_STATION_JSON}.load_kg if {_STATION_JSON}.load_kg is not none else 'None' }}}}",
        command=Command.SET_LOAD, device_class="weight", unit="kg", icon="mdi:weight-kilogram",
    ),
    EntityDescription(
        "correct_load", Platform.NUMBER, "last set load", Source.LAST_SET,
        "{{ value_json.weight_kg if value_json.weight_kg is not none else 'None' }}",
        command=Command.EDIT_LAST_LOAD, device_class="weight", unit="kg", icon="mdi:weight-kilogram",
    ),
    EntityDescription(
        "correct_reps", Platform.NUMBER, "last set reps (correct)", Source.LAST_SET, "{{ value_json.reps }}",
        command=Command.EDIT_LAST_REPS, unit="reps", icon="mdi:counter",
    ),
    EntityDescription(
        "correct_exercise", Platform.SELECT, "correct exercise", Source.LAST_SET, "{{ value_json.exercise }}",
        command=Command.EDIT_LAST, icon="mdi:swap-horizontal",
    ),
)
"""Per station, on its agent's device; unique_id ``replens_<agent>_<station>_<key>``."""

AGENT_ENTITIES: tuple[EntityDescription, ...] = (
    EntityDescription(
        "fps", Platform.SENSOR, "frames per second", Source.AGENT_STATS,
        "{{ value_json.fps if value_json.fps is not none else 'None' }}", state_class="measurement", unit="fps",
        diagnostic=True,
    ),
    EntityDescription(
        "latency", Platform.SENSOR, "frame latency", Source.AGENT_STATS,
        "{{ value_json.latency_ms if value_json.latency_ms is not none else 'None' }}", device_class="duration",
        state_class="measurement", unit="ms", diagnostic=True,
    ),
    EntityDescription(
        "outbox_depth", Platform.SENSOR, "outbox depth", Source.AGENT_STATS, "{{ value_json.outbox_depth }}",
        state_class="measurement", unit="events", icon="mdi:tray-full", diagnostic=True,
    ),
)
"""Per agent (its stats are the whole camera's); unique_id ``replens_<agent>_<key>``."""

VELOCITY_LOSS_ENTITY = EntityDescription(
    "velocity_loss_reached", Platform.EVENT, "velocity loss reached", Source.VELOCITY_LOSS, icon="mdi:speedometer-slow",
)
"""Only at stations with ``end_set_at_velocity_loss_pct`` (their agent's state says so): the stop cue."""

MEMBER_ENTITIES: tuple[EntityDescription, ...] = (
    EntityDescription(
        "reps_today", Platform.SENSOR, "reps today", Source.MEMBER_STATE, "{{ value_json.reps_today }}",
        state_class="total_increasing", unit="reps", icon="mdi:counter",
    ),
    EntityDescription(
        "volume_today", Platform.SENSOR, "volume today", Source.MEMBER_STATE, "{{ value_json.volume_today_kg }}",
        device_class="weight", state_class="total_increasing", unit="kg",
    ),
    EntityDescription(
        "volume_week", Platform.SENSOR, "volume this week", Source.MEMBER_STATE, "{{ value_json.volume_week_kg }}",
        device_class="weight", state_class="total_increasing", unit="kg",
    ),
    EntityDescription(
        "last_exercise", Platform.SENSOR, "last exercise", Source.MEMBER_STATE,
        "{{ value_json.last_exercise or 'None' }}", icon="mdi:weight-lifter",
    ),
    EntityDescription(
        "last_set", Platform.SENSOR, "last set", Source.MEMBER_STATE,
        "{{ (value_json.last_set.reps ~ ' × ' ~ value_json.last_set.exercise) if value_json.last_set else 'None' }}",
        icon="mdi:dumbbell", attributes_template="{{ (value_json.last_set or {}) | tojson }}",
    ),
    EntityDescription(
        "last_seen", Platform.SENSOR, "last seen", Source.MEMBER_STATE, "{{ value_json.last_seen or 'None' }}",
        device_class="timestamp",
    ),
    EntityDescription(
        "present", Platform.BINARY_SENSOR, "present", Source.MEMBER_STATE,
        "{{ 'ON' if value_json.present else 'OFF' }}", device_class="presence",
    ),
    EntityDescription(
        "personal_record", Platform.EVENT, "personal record", Source.PERSONAL_RECORD, icon="mdi:trophy",
    ),
    EntityDescription(
        "velocity_e1rm", Platform.SENSOR, "velocity e1RM", Source.MEMBER_STATE,
        "{{ value_json.velocity_e1rm.velocity_e1rm_kg if value_json.velocity_e1rm else 'None' }}",
        device_class="weight", state_class="measurement", unit="kg", icon="mdi:speedometer",
        attributes_template="{{ (value_json.velocity_e1rm or {}) | tojson }}",
    ),
    EntityDescription(
        "body_weight", Platform.NUMBER, "body weight", Source.MEMBER_STATE,
        "{{ value_json.body_weight_kg if value_json.body_weight_kg is not none else 'None' }}",
        command=Command.BODY_WEIGHT, device_class="weight", unit="kg", icon="mdi:human",
    ),
)
"""Per enrolled member, keyed by member id (never the name); unique_id ``replens_member_<id>_<key>``."""

HUB_ENTITIES: tuple[EntityDescription, ...] = (
    EntityDescription(
        "status", Platform.BINARY_SENSOR, "status", Source.HUB_AVAILABLE,
        "{{ 'ON' if value == 'online' else 'OFF' }}", device_class="connectivity",
    ),
)
"""The hub's own device, which agents and members hang off (``via_device``); unique_id ``replens_hub_<key>``."""
