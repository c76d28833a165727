"""MQTT messages → what the journal records and what the hub acts on; a bad message is counted and logged.

Home Assistant's own messages (its birth message, an agent's retained state cleared) and the agents' live
velocity-loss cues go to the bridge here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiomqtt

from replens.contract import (
    AgentState,
    BodyWeightCommand,
    ClaimCommand,
    ClaimLastCommand,
    DecodedBatch,
    EditLastCommand,
    RepEvent,
    SetEdit,
    SetEvent,
    Stats,
    Topics,
    VelocityLossReached,
    VisitEvent,
    decode_incoming,
)
from replens.contract.codec import Recordable
from replens.errors import ContractError
from replens.hub.homeassistant import HomeAssistantBridge
from replens.hub.journal import Inbound
from replens.hub.stats import HubCounters


@dataclass
class Intake:
    """One batch of messages, sorted: events, stats and agent states to record; claims, edits, body weights to apply."""

    inbound: Inbound = field(default_factory=Inbound)
    claims: list[ClaimCommand] = field(default_factory=list)
    claims_by_name: list[ClaimLastCommand] = field(default_factory=list)
    edits: list[SetEdit] = field(default_factory=list)
    edits_of_last: list[EditLastCommand] = field(default_factory=list)
    body_weights: list[BodyWeightCommand] = field(default_factory=list)

    @property
    def commands(self) -> bool:
        return bool(self.claims or self.edits or self.edits_of_last or self.body_weights)


class Sorter:
    def __init__(self, topics: Topics, status_topic: str, counters: HubCounters,
                 homeassistant: HomeAssistantBridge) -> None:
        self._topics = topics
        self._status_topic = status_topic
        self._counters = counters
        self._homeassistant = homeassistant

    def sort_out(self, batch: list[aiomqtt.Message]) -> Intake:
        """Decode every message; a bad one is counted and logged with its topic and reason."""
        intake = Intake()
        for message in batch:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            if self._home_assistant_message(topic, payload):
                continue
            self._counters.counts["received"] += 1
            try:
                item = decode_incoming(self._topics, topic, payload)
            except ContractError as err:
                edit = topic in (self._topics.edit, self._topics.edit_last, self._topics.body_weight)
                self._counters.reject(f"message: {err}", "edits_rejected" if edit else "rejected")
                continue
            if isinstance(item, VelocityLossReached):
                self._homeassistant.on_velocity_loss(item)  # a live cue: relayed, never recorded
                continue
            self._file(item, intake)
        return intake

    def _file(self, item: Recordable, intake: Intake) -> None:
        inbound = intake.inbound
        if isinstance(item, SetEvent | RepEvent | VisitEvent):
            inbound.events.append(item)
            self._counters.counts["event_messages"] += 1
        elif isinstance(item, DecodedBatch):
            inbound.events += item.events
            self._counters.counts["event_messages"] += 1
            self._counters.counts["batched_events"] += len(item.events)
            for reason in item.rejected:
                self._counters.reject(f"message: {reason}")
        elif isinstance(item, ClaimCommand):
            intake.claims.append(item)
        elif isinstance(item, ClaimLastCommand):
            intake.claims_by_name.append(item)
        elif isinstance(item, SetEdit):
            intake.edits.append(item)
        elif isinstance(item, EditLastCommand):
            intake.edits_of_last.append(item)
        elif isinstance(item, BodyWeightCommand):
            intake.body_weights.append(item)
        elif isinstance(item, Stats):
            if item.source == "agent":
                inbound.stats.append(item)
        elif isinstance(item, AgentState):
            inbound.agents.append((item.agent_id, None, item.model_dump_json()))
            self._homeassistant.on_agent_state(item)
        else:
            agent_id, availability = item
            inbound.agents.append((agent_id, availability.value, None))

    def _home_assistant_message(self, topic: str, payload: bytes) -> bool:
        """Home Assistant's birth message, or an agent's retained state cleared (the agent was removed)."""
        if topic == self._status_topic:
            self._homeassistant.on_status(payload)
            return True
        agent_id = self._topics.agent_id_from(topic)
        if not payload and agent_id is not None and topic == self._topics.agent_state(agent_id):
            self._homeassistant.forget_agent(agent_id)
            return True
        return False
