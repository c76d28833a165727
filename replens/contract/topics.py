"""The MQTT topic layout. Build topics here, never with f-strings elsewhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

from replens.contract.kinds import EventKind

DEFAULT_PREFIX = "replens"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_id(kind: str, value: str) -> str:
    """Ids become topic levels and InfluxDB tags: lowercase letters, digits, ``_`` and ``-`` only."""
    if not _ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{kind} id {value!r} must be 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """All topics under one prefix (``replens`` unless configured)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in "+#\0") or self.prefix.endswith("/"):
            raise ValueError(f"MQTT prefix {self.prefix!r} must be non-empty, without '+', '#' or a trailing '/'")

    # Availability (retained, QoS 1): online / offline (last will) / stopped (clean exit).
    @property
    def hub_available(self) -> str:
        return f"{self.prefix}/hub/available"

    def agent_available(self, agent_id: str) -> str:
        return f"{self.prefix}/agent/{agent_id}/available"

    def agent_state(self, agent_id: str) -> str:
        """Retained snapshot of every station of one agent."""
        return f"{self.prefix}/agent/{agent_id}/state"

    def agent_ack(self, agent_id: str) -> str:
        """Hub → agent: which sequence numbers the hub has stored durably."""
        return f"{self.prefix}/agent/{agent_id}/ack"

    def agent_command(self, agent_id: str) -> str:
        """Anyone → agent: ``StationCommand`` (pause, resume, end the set)."""
        return f"{self.prefix}/agent/{agent_id}/command"

    def agent_events(self, agent_id: str, kind: EventKind | str) -> str:
        """Agent → hub: its ``sets``, ``reps`` or ``visits``, under its own topic so the broker's ACL can fence them.

        The hub checks that the payload's agent_id is the one in the topic: with a per-agent account that
        may write only here, no agent can pass off events as another's.
        """
        try:
            return f"{self.prefix}/agent/{agent_id}/{EventKind(kind)}"
        except ValueError as err:
            raise ValueError(f"agent event kind must be one of {', '.join(EventKind)} (got: {kind!r})") from err

    def agent_batch(self, agent_id: str) -> str:
        """Agent → hub: an ``EventBatch``, several of the agent's sets, reps and visits in one message."""
        return f"{self.prefix}/agent/{agent_id}/batch"

    def agent_enrol(self, agent_id: str) -> str:
        """Anyone → entrance agent: ``EnrolCommand`` (enrol the next face this camera sees)."""
        return f"{self.prefix}/agent/{agent_id}/enrol"

    def agent_enrol_result(self, agent_id: str) -> str:
        """Entrance agent → all: ``EnrolResult``."""
        return f"{self.prefix}/agent/{agent_id}/enrol_result"

    def agent_velocity_loss(self, agent_id: str) -> str:
        """Agent → hub, not retained: ``VelocityLossReached``, live (never through the outbox)."""
        return f"{self.prefix}/agent/{agent_id}/velocity_loss"

    def agent_stats(self, agent_id: str) -> str:
        """Agent → integrations, retained: the agent's latest ``Stats`` (also sent on ``<prefix>/stats``)."""
        return f"{self.prefix}/agent/{agent_id}/stats"

    def station_last_set(self, agent_id: str, station: str) -> str:
        """Hub → integrations, retained: ``LastSet`` of one station."""
        return f"{self.prefix}/station/{agent_id}/{station}/last_set"

    def station_set_completed(self, agent_id: str, station: str) -> str:
        """Hub → integrations, not retained: ``SetCompleted`` when a set ends."""
        return f"{self.prefix}/station/{agent_id}/{station}/set_completed"

    def station_velocity_loss(self, agent_id: str, station: str) -> str:
        """Hub → integrations, not retained: ``VelocityLossReached`` (Home Assistant's velocity_loss event)."""
        return f"{self.prefix}/station/{agent_id}/{station}/velocity_loss"

    def member_state(self, member_id: str) -> str:
        """Hub → integrations, retained: ``MemberState`` (today's reps and volume, last set, presence)."""
        return f"{self.prefix}/member/{member_id}/state"

    def member_personal_record(self, member_id: str) -> str:
        """Hub → integrations, not retained: ``PersonalRecordEvent`` (Home Assistant's personal_record event)."""
        return f"{self.prefix}/member/{member_id}/personal_record"

    @property
    def claim_last(self) -> str:
        """Anyone → hub: ``ClaimLastCommand``, whose was a station's last set (by member name)."""
        return f"{self.prefix}/hub/claim_last"

    @property
    def edit(self) -> str:
        """Anyone → hub: ``SetEdit``, a person's correction of a recorded set."""
        return f"{self.prefix}/hub/edit"

    @property
    def edit_last(self) -> str:
        """Anyone → hub: ``EditLastCommand``, a correction of a station's last ended set (Home Assistant)."""
        return f"{self.prefix}/hub/edit_last"

    @property
    def body_weight(self) -> str:
        """Anyone → hub: ``BodyWeightCommand``, a member's body weight (Home Assistant's number)."""
        return f"{self.prefix}/hub/body_weight"

    @property
    def sets(self) -> str:
        return f"{self.prefix}/sets"

    @property
    def reps(self) -> str:
        return f"{self.prefix}/reps"

    @property
    def stats(self) -> str:
        return f"{self.prefix}/stats"

    @property
    def visits(self) -> str:
        """Agents → hub: faces decided over a visit (member id and score only)."""
        return f"{self.prefix}/visits"

    @property
    def claim(self) -> str:
        """Anyone → hub: whose set it was."""
        return f"{self.prefix}/hub/claim"

    @property
    def hub_sets(self) -> str:
        """Hub → integrations: a set whose member was decided or changed."""
        return f"{self.prefix}/hub/sets"

    @property
    def presence(self) -> str:
        """Hub → integrations, retained: who is in the gym now."""
        return f"{self.prefix}/hub/presence"

    # Subscriptions.
    @property
    def all_agents_available(self) -> str:
        return f"{self.prefix}/agent/+/available"

    @property
    def all_agents_state(self) -> str:
        return f"{self.prefix}/agent/+/state"

    def hub_subscriptions(self) -> tuple[str, ...]:
        per_agent = tuple(f"{self.prefix}/agent/+/{kind}" for kind in (*EventKind, "batch", "stats", "velocity_loss"))
        # The shared topics stay subscribed for agents of earlier versions; a broker ACL lets no agent write them.
        shared = (self.sets, self.reps, self.stats, self.visits)
        return (*per_agent, *shared, self.claim, self.claim_last, self.edit, self.edit_last, self.body_weight,
                self.all_agents_available, self.all_agents_state)

    def agent_id_from(self, topic: str) -> str | None:
        """The agent id in ``<prefix>/agent/<id>/...``, or None for other topics."""
        head = f"{self.prefix}/agent/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :].split("/")
        return rest[0] if len(rest) == 2 and rest[0] else None
