"""Wire payloads (schema 1). Every model rejects unknown keys, NaN and infinity."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from replens.contract.exercises import Exercise
from replens.contract.kinds import EventKind
from replens.contract.load import LoadUnit

SCHEMA_VERSION: Literal[1] = 1

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
"""Agent, station and member ids: they become topic levels and InfluxDB tags."""
SetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
Seq = Annotated[int, Field(ge=1, le=2**53 - 1)]
Seconds = Annotated[float, Field(ge=0.0, le=86_400.0)]
Count = Annotated[int, Field(ge=0, le=100_000)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Velocity = Annotated[float, Field(ge=-50.0, le=50.0)]
Magnitude = Annotated[float, Field(ge=-1e9, le=1e9)]
WeightKg = Annotated[float, Field(ge=0.0, le=2000.0)]


class WireModel(BaseModel):
    """Base of every payload: strict about keys and numbers, immutable once parsed."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False, ser_json_inf_nan="null"
    )
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema", description="Payload schema version.")

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class Availability(StrEnum):
    """Retained on the ``available`` topics; ``offline`` is the MQTT last will."""

    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


class SetPhase(StrEnum):
    """Set lifecycle: one ``new``, any number of ``update`` (one per rep), one ``end``."""

    NEW = "new"
    UPDATE = "update"
    END = "end"


class SequencedEvent(WireModel):
    """An event that travels through the agent's durable outbox; the hub de-duplicates by (agent_id, seq)."""

    agent_id: Id
    seq: Seq = Field(description="Per-agent sequence number, strictly increasing, never reused.")
    set_id: SetId = Field(description="Stable id of the set, the same in every event of the set.")
    station: Id
    exercise: Exercise


class RepSummary(BaseModel):
    """Short per-rep figures carried on set events."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    index: Annotated[int, Field(ge=1, le=100_000)]
    duration_s: Seconds
    rom: Magnitude = Field(description="Range of motion in the tracker's unit (rom_m when calibrated).")
    rom_m: Magnitude | None = None
    mean_velocity_m_s: Velocity | None = None
    concentric_s: Seconds | None = None
    eccentric_s: Seconds | None = None
    pause_s: Seconds | None = Field(default=None, description="Held at the turning point.")


class Appearance(BaseModel):
    """Clothing colour of a person: a coarse normalised colour histogram per body region.

    Not biometric (it changes with the clothes); it lets the hub tell apart members who are in the gym
    at the same time by matching the lifter at a station with the people seen at the entrance.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    torso: list[Fraction] = Field(min_length=1, max_length=64)
    legs: list[Fraction] = Field(min_length=1, max_length=64)


class SetEvent(SequencedEvent):
    """Topic ``<prefix>/sets``."""

    event: SetPhase
    member: Id | None = Field(default=None, description="Member id once attributed, else null.")
    reps: Count
    partial_reps: Count = Field(default=0, description="Movements that fell short of a rep: flagged, not counted.")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(default=None, description="Set only on ``end``.")
    rest_before_s: Seconds | None = None
    rep_summaries: list[RepSummary] = Field(default_factory=list, max_length=1000)
    appearance: Appearance | None = Field(
        default=None, description="Clothing colour of the lifter (pose stations), for attribution by the hub."
    )
    weight_kg: WeightKg | None = Field(
        default=None, description="Load lifted in kg: the station's current load (its config's weight_kg until a "
        "set_load command changes it); null when unknown."
    )
    exercise_confidence: Fraction = Field(
        default=1.0, description="How sure the agent is of ``exercise``: 1 at a station with one exercise, the "
        "recogniser's confidence at a station with several (it may change while the set runs)."
    )
    runner_up: Exercise | None = Field(
        default=None, description="On ``end`` at a station with several exercises: the next most likely one."
    )
    runner_up_confidence: Fraction | None = Field(default=None, description="The runner-up's confidence.")
    quality: Literal["good", "fallback", "poor"] | None = Field(
        default=None, description="On ``end`` at a pose station: ``good`` when the exercise's joints were seen in "
        "most of the set's frames, ``fallback`` when they were out of sight and the head's height in the frame "
        "counted the reps, ``poor`` when neither was seen well (trust the count less). Null elsewhere."
    )


class RepEvent(SequencedEvent):
    """Topic ``<prefix>/reps``: one message per completed rep."""

    index: Annotated[int, Field(ge=1, le=100_000)]
    started_at: AwareDatetime
    turned_at: AwareDatetime
    ended_at: AwareDatetime
    concentric_s: Seconds
    eccentric_s: Seconds
    pause_s: Seconds = Field(default=0.0, description="Held at the turning point, in neither phase.")
    rom: Magnitude
    rom_m: Magnitude | None = None
    mean_velocity_m_s: Velocity | None = None
    peak_velocity_m_s: Velocity | None = None
    confidence: Fraction


class StationState(BaseModel):
    """One station inside the retained agent state."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    exercise: Exercise
    set_active: bool
    set_id: SetId | None = None
    reps: Count = 0
    paused: bool = Field(default=False, description="Counting paused by a command; kept across agent restarts.")
    exercises: list[Exercise] = Field(
        default_factory=list, max_length=32, description="At a station that recognises its exercise: the ones it "
        "chooses among (Home Assistant offers them to correct a set). Empty: not said; every exercise is offered.")
    load_kg: WeightKg | None = Field(
        default=None, description="The station's current load: the set under way and later sets carry it. Null: "
        "unknown. Kept across agent restarts.")
    units: LoadUnit = Field(default=LoadUnit.KG, description="The unit people enter and read this station's load in.")
    end_set_at_velocity_loss_pct: Annotated[float, Field(gt=0.0, lt=100.0)] | None = Field(
        default=None, description="The station's velocity-loss target: the agent sends a velocity_loss cue when a "
        "set reaches it (Home Assistant then shows a velocity_loss event entity). Null: no target.")


class AgentState(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/state``, retained."""

    agent_id: Id
    updated_at: AwareDatetime
    stations: dict[Id, StationState] = Field(max_length=256)


class Stats(WireModel):
    """Topic ``<prefix>/stats``: periodic health of an agent or the hub."""

    source: Literal["agent", "hub"]
    id: Id
    at: AwareDatetime
    uptime_s: Annotated[float, Field(ge=0.0)]
    fps: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None
    latency_ms: Annotated[float, Field(ge=0.0)] | None = Field(
        default=None, description="Agent: frame to event. Hub: event made to stored in InfluxDB (median)."
    )
    latency_p99_ms: Annotated[float, Field(ge=0.0)] | None = None
    outbox_depth: Count = Field(description="Events not yet confirmed downstream.")
    outbox_oldest_s: Annotated[float, Field(ge=0.0)] | None = Field(
        default=None, description="Age of the oldest unconfirmed event: the delivery lag."
    )
    counters: dict[Annotated[str, StringConstraints(max_length=64)], Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, max_length=64
    )


class Ack(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/ack``: sequence ranges (inclusive) the hub has stored."""

    ranges: list[tuple[Seq, Seq]] = Field(max_length=10_000)


class VisitRole(StrEnum):
    """Where a face was seen: at the entrance (presence) or at a station (who is lifting there)."""

    ENTRANCE = "entrance"
    STATION = "station"


class VisitEvent(WireModel):
    """Topic ``<prefix>/visits``: a person seen by a camera, decided over several frames.

    Carries a member id and a score, never a face or an embedding. Travels through the agent's outbox,
    so the hub de-duplicates by (agent_id, seq) like sets.
    """

    agent_id: Id
    seq: Seq
    visit_id: SetId = Field(description="Stable id of the visit, the same in its new, update and end events.")
    camera: Id = Field(description="The entrance camera's name, or the station whose camera saw the face.")
    role: VisitRole
    event: SetPhase
    member: Id | None = Field(default=None, description="Recognised member, or null for unknown.")
    score: Fraction = Field(description="How sure the decision is: 0 unknown, 1 certain.")
    frames: Count = Field(description="Frames with a usable face so far.")
    started_at: AwareDatetime
    seen_at: AwareDatetime = Field(description="Last frame with a usable face.")
    ended_at: AwareDatetime | None = None
    appearance: Appearance | None = None


class IdentitySource(StrEnum):
    """How the hub decided whose set it was; strategies are tried in this order, a claim beats them all."""

    STATION_FACE = "station_face"
    ONLY_PRESENT = "only_present"
    APPEARANCE = "appearance"
    CLAIM = "claim"


class ClaimCommand(WireModel):
    """Topic ``<prefix>/hub/claim``: a person (or Home Assistant) says whose set it was.

    ``member: null`` says nobody enrolled did it: the set keeps no member and automatic attribution leaves it.
    """

    set_id: SetId
    member: Id | None
    by: Annotated[str, StringConstraints(max_length=64)] | None = None


class SetField(StrEnum):
    """What a person may correct in a recorded set (``SetEdit``); the agent's own value is kept beside it."""

    EXERCISE = "exercise"
    WEIGHT_KG = "weight_kg"
    REPS = "reps"


class SetAttribution(WireModel):
    """Topic ``<prefix>/hub/sets``: the hub's view of a set whenever it changes after the fact.

    Its member (a strategy's decision, a claim, a member deleted) or a person's correction (``SetEdit``).
    ``exercise`` is the effective one: the correction when there is one, else what the agent recognised.
    """

    event: Literal[SetPhase.UPDATE] = SetPhase.UPDATE
    set_id: SetId
    agent_id: Id
    station: Id
    exercise: Exercise
    reps: Count
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    member: Id | None
    identity_source: IdentitySource | None
    identity_score: Fraction | None
    at: AwareDatetime
    recognised_exercise: Exercise | None = Field(
        default=None, description="What the agent recognised (its latest event); differs from ``exercise`` when a "
        "person corrected it.")
    exercise_confidence: Fraction | None = Field(default=None, description="The agent's confidence in it.")
    edited: list[SetField] = Field(
        default_factory=list, max_length=16, description="The fields that hold a person's correction.")
    weight_kg: WeightKg | None = Field(default=None, description="The effective load (a correction, else the "
                                       "agent's).")
    counted_reps: Count | None = Field(default=None, description="What the agent counted; differs from ``reps`` "
                                       "when a person corrected it.")
    agent_weight_kg: WeightKg | None = Field(default=None, description="The load the agent's event carried.")


class PresentMember(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    member: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    since: AwareDatetime
    last_seen: AwareDatetime
    camera: Id


class Presence(WireModel):
    """Topic ``<prefix>/hub/presence``, retained: who is in the gym now."""

    at: AwareDatetime
    members: list[PresentMember] = Field(max_length=10_000)


Event = SetEvent | RepEvent | VisitEvent
"""An event that travels through an agent's outbox: numbered per agent, de-duplicated by the hub."""

EVENT_MODELS: dict[EventKind, type[Event]] = {EventKind.SETS: SetEvent, EventKind.REPS: RepEvent,
                                               EventKind.VISITS: VisitEvent}
"""The one map from an event's kind to its wire model."""


def set_id_for(agent_id: str, station: str, started_unix_s: float) -> str:
    """The one format of a set's id: ``<agent>.<station>.<start in UNIX ms>``.

    Unique per station without any coordination (a station starts at most one set a millisecond), and it
    tells a reader of logs and the journal where and when the set was lifted.
    """
    return f"{agent_id}.{station}.{int(started_unix_s * 1000)}"


def utc_from_unix(t: float) -> datetime:
    """UNIX seconds → aware UTC datetime (the only time type on the wire)."""
    return datetime.fromtimestamp(t, tz=UTC)
