"""The Mosquitto ACL file: which account may publish and read which RepLens topics, built from the config.

Pure: config in, text out. One ``user`` block per account, listing topics only (no ``pattern`` lines):
usernames need not equal agent ids, and ``%c`` (the client id) is chosen by the client, so it proves
nothing. Mosquitto denies everything an account's block does not grant, and an anonymous client has no
block at all. docs/security.md explains what this guarantees and what it cannot yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from replens.config.root import RepLensConfig
from replens.contract.topics import Topics

ANY = "+"  # one topic level, in ACL topics
HOMEASSISTANT_USER = "homeassistant"
_USERNAME = re.compile(r"^[^\s:#+/]{1,64}$")


@dataclass(frozen=True, slots=True)
class AgentAccount:
    """One camera agent's broker account and what it publishes."""

    username: str
    agent_id: str
    counts_sets: bool = True  # has stations: publishes sets and reps
    reports_visits: bool = False  # recognises faces (entrance or station): publishes visits
    enrols: bool = False  # is an entrance camera: takes enrolment requests


@dataclass(frozen=True, slots=True)
class AclPlan:
    """Everything the ACL depends on; ``per_agent_events`` moves agents' events under their own topics."""

    topics: Topics
    hub_username: str
    agents: tuple[AgentAccount, ...]
    homeassistant_username: str | None = None
    discovery_prefix: str = "homeassistant"
    status_topic: str = "homeassistant/status"
    per_agent_events: bool = True
    command_topics: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [self.hub_username, *(a.username for a in self.agents)]
        if self.homeassistant_username is not None:
            names.append(self.homeassistant_username)
        for name in names:
            check_username(name)
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"MQTT user name {name!r} is used by two accounts; every agent needs its own")
            seen.add(name)
        for topic in (self.topics.prefix, self.discovery_prefix, self.status_topic, *self.command_topics):
            if any(c.isspace() for c in topic):
                raise ValueError(f"topic {topic!r} contains white space, which a Mosquitto ACL file cannot hold")


def check_username(name: str) -> str:
    """Names go into the password file (``name:hash``) and the ACL (``user name``): no ':' or spaces."""
    if not _USERNAME.fullmatch(name):
        raise ValueError(f"MQTT user name {name!r} must be 1-64 characters without spaces, ':', '/', '+' or '#'")
    return name


def default_agent_username(agent_id: str) -> str:
    return f"agent-{agent_id}"


def plan_from_config(
    config: RepLensConfig, *, homeassistant_username: str | None = HOMEASSISTANT_USER, per_agent_events: bool = True
) -> AclPlan:
    """The plan for this config; an agent without ``mqtt_username`` gets ``agent-<id>``."""
    topics = config.mqtt.topics
    agents = tuple(
        AgentAccount(
            username=agent.mqtt_username or default_agent_username(agent_id),
            agent_id=agent_id,
            counts_sets=bool(agent.stations),
            reports_visits=agent.entrance is not None or any(st.recognise_faces for st in agent.stations.values()),
            enrols=agent.entrance is not None,
        )
        for agent_id, agent in sorted(config.agents.items())
    )
    ha = config.homeassistant
    return AclPlan(
        topics=topics,
        hub_username=config.mqtt.username or "hub",
        agents=agents,
        homeassistant_username=homeassistant_username,
        discovery_prefix=ha.discovery_prefix,
        status_topic=ha.status_topic,
        per_agent_events=per_agent_events,
        command_topics=command_topics(topics),
    )


def command_topics(topics: Topics) -> tuple[str, ...]:
    """Topics on which anyone allowed (Home Assistant, an operator) commands the hub or an agent."""
    return (topics.agent_command(ANY), topics.agent_enrol(ANY), topics.claim, topics.claim_last, topics.edit,
            topics.edit_last, topics.body_weight)


def agent_writes(plan: AclPlan, agent: AgentAccount) -> list[str]:
    t, a = plan.topics, agent.agent_id
    writes = [t.agent_available(a), t.agent_state(a), t.agent_stats(a)]
    if agent.enrols:
        writes.append(t.agent_enrol_result(a))
    kinds = [k for k, on in (("sets", agent.counts_sets), ("reps", agent.counts_sets),
                             ("visits", agent.reports_visits)) if on]
    if plan.per_agent_events:
        writes += [t.agent_events(a, kind) for kind in kinds]
        if kinds:
            writes.append(t.agent_batch(a))  # the same events, several per message
    else:
        shared = {"sets": t.sets, "reps": t.reps, "visits": t.visits}
        writes += [shared[kind] for kind in kinds]
        writes.append(t.stats)  # shared with the hub and every agent: see docs/security.md
    if agent.counts_sets:
        writes.append(t.agent_velocity_loss(a))  # live stop cues: its own topic in either layout
    return writes


def agent_reads(plan: AclPlan, agent: AgentAccount) -> list[str]:
    t, a = plan.topics, agent.agent_id
    reads = [t.agent_ack(a), t.agent_command(a), t.hub_available]
    if agent.enrols:
        reads.append(t.agent_enrol(a))  # enrolment requests: only entrance cameras take them
    return reads


def hub_rules(plan: AclPlan) -> list[tuple[str, str]]:
    t = plan.topics
    node_id = re.sub(r"[^a-zA-Z0-9_-]", "_", t.prefix)  # as integrations.homeassistant.discovery names it
    writes = [
        f"{t.prefix}/hub/#",  # available, sets, presence
        t.agent_ack(ANY),
        t.stats,
        f"{t.prefix}/station/#",  # last_set, set_completed
        f"{t.prefix}/member/#",  # member state
    ]
    return [
        ("read", f"{t.prefix}/#"),
        *(("write", topic) for topic in writes),
        ("read", plan.status_topic),
        ("readwrite", f"{plan.discovery_prefix}/{ANY}/{node_id}/#"),  # its own discovery configs
    ]


def homeassistant_rules(plan: AclPlan) -> list[tuple[str, str]]:
    t = plan.topics
    return [
        ("read", f"{t.prefix}/#"),
        ("read", f"{plan.discovery_prefix}/#"),
        ("write", plan.status_topic),
        *(("write", topic) for topic in plan.command_topics),
    ]


def _block(username: str, comment: str, rules: Iterable[tuple[str, str]]) -> list[str]:
    return ["", f"# {comment}", f"user {username}", *(f"topic {access} {topic}" for access, topic in rules)]


def build_acl(plan: AclPlan) -> str:
    """The ``acl_file`` text: the hub, then each agent, then Home Assistant when it has an account."""
    lines = [
        "# Mosquitto ACL for RepLens, generated by `replens mqtt credentials` or `replens stack init`; edits are lost.",
        f"# Prefix {plan.topics.prefix!r}; per-agent event topics: {'yes' if plan.per_agent_events else 'no'}.",
        "# No lines before the first 'user': anonymous clients may do nothing.",
    ]
    lines += _block(plan.hub_username, "The hub: reads everything under the prefix, answers agents.",
                    hub_rules(plan))
    for agent in plan.agents:
        rules = [("write", topic) for topic in agent_writes(plan, agent)]
        rules += [("read", topic) for topic in agent_reads(plan, agent)]
        lines += _block(agent.username, f"Agent {agent.agent_id}: its own topics only.", rules)
    if plan.homeassistant_username is not None:
        lines += _block(plan.homeassistant_username, "Home Assistant: reads everything, sends commands.",
                        homeassistant_rules(plan))
    return "\n".join(lines) + "\n"
