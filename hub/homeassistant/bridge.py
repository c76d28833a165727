"""The hub's Home Assistant side: discovery lifecycle, retained views, set-completed events, claims by name.

- Discovery configs are retained at QoS 1: published at every (re)connect, again a random moment after
  Home Assistant's birth message, and whenever stations or members change. Configs no longer wanted are
  cleared (empty retained payload), in either topic form; when ``discovery_format`` changed, the entities
  are handed over with ``migrate_discovery`` first (discovery_plan.py). What was published is recorded in
  ``<hub data dir>/homeassistant.json`` so that a restarted hub clears what disappeared while it was down.
- Views (``LastSet`` per station, ``MemberState`` per member) are retained and republished when the
  journal changed (any process's commit), when members change, and every ``refresh_s``.
- Velocity-loss cues from the agents are relayed to their station's topic at once, first thing in a cycle:
  once per set (QoS 1 may deliver one twice), with the member where known, and never when stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

from replens import __version__
from replens.config import RepLensConfig
from replens.contract import MAX_CUE_AGE_S, AgentState, ClaimCommand, ClaimLastCommand, LoadUnit, VelocityLossReached
from replens.errors import TransientError
from replens.hub.homeassistant.discovery_plan import MIGRATE, DiscoveryPlan, Published, plan
from replens.hub.homeassistant.views import JournalViews
from replens.hub.identity.attributor import Attributor
from replens.hub.wakeup import woken
from replens.integrations.homeassistant.discovery import DiscoveryContext, all_configs
from replens.integrations.homeassistant.entities import NOBODY
from replens.local_days import day_start
from replens.members import MemberError, member_names

log = logging.getLogger(__name__)

ClientOf = Callable[[], aiomqtt.Client | None]
RECORD_FILE = "homeassistant.json"
UNITS_SETTLE_S = 2.0
"""After a member's unit changed, their state is sent again this much later: Home Assistant renders a state with
the templates it has when the state arrives, and applies the re-published discovery config in its own time."""


class HomeAssistantBridge:
    def __init__(self, config: RepLensConfig, attributor: Attributor, views: JournalViews, *,
                 poll_s: float = 1.0) -> None:
        self._settings = config.homeassistant
        self._topics = config.mqtt.topics
        self._ctx = DiscoveryContext(self._topics, self._settings.discovery_prefix, __version__)
        self._attributor = attributor
        self._views = views
        self._members_db = config.members_db()
        self._record_path = config.hub_data_dir() / RECORD_FILE
        self._poll_s = poll_s
        self._config_stations = {a: sorted(c.stations) for a, c in config.agents.items() if c.stations}
        published, stations, cueing = _load_record(self._record_path)
        self._published = published
        self._state_stations = stations  # agent id → station ids, from the agents' retained state
        self._hosted: dict[tuple[str, str], list[str]] = {}  # (agent, station) → exercises it says it hosts
        self._pounds: set[tuple[str, str]] = set()  # (agent, station) whose units are lb
        self._cueing = cueing  # (agent, station) with a velocity-loss target; recorded, so that a restarted hub
        # does not delete the event entity (and its registry entry) before the agent's retained state is in
        self._cues: deque[VelocityLossReached] = deque(maxlen=1000)
        self._cued: deque[str] = deque(maxlen=1000)  # set ids already relayed: one cue per set
        self._member_pounds: set[str] = set()  # members whose unit is lb (the journal says, read when it changed)
        self._members: dict[str, str] = {}
        self._members_signature: tuple[float, int] | None = None
        self._views_sent: dict[str, bytes] = {}  # retained view topic → payload last published
        self._completed: deque[str] = deque(maxlen=10_000)
        self._journal_version: int | None = None
        self._next_refresh = 0.0
        self._resend_views_at: float | None = None  # monotonic: when to send every view again (units changed)
        self._discovery_due = True
        self._force = True
        self.due = asyncio.Event()
        """Set to run a cycle now rather than at the next poll."""
        self.counts = {"discovery_published": 0, "discovery_cleared": 0, "discovery_migrated": 0,
                       "views_published": 0, "completed": 0, "velocity_cues": 0, "velocity_cues_stale": 0,
                       "velocity_cues_duplicate": 0}

    # Events from the hub (event loop) ----------------------------------------------------------------
    def on_connect(self) -> None:
        """Retained configs may be gone (a broker restarted without persistence): publish everything."""
        self._force = True
        self.due.set()

    def on_status(self, payload: bytes) -> None:
        """Home Assistant's birth message: answer with every config, after a random delay."""
        if payload.strip() != b"online":
            return
        delay = random.uniform(0.0, self._settings.republish_delay_max_s)  # noqa: S311 (spreading load, not security)
        log.info("hub: Home Assistant is online; discovery again in %.1f s", delay)
        asyncio.get_running_loop().call_later(delay, self.on_connect)

    def on_agent_state(self, state: AgentState) -> None:
        agent = state.agent_id
        stations = sorted(state.stations)
        hosted = {(agent, s): [e.value for e in st.exercises] for s, st in state.stations.items() if st.exercises}
        pounds = {(agent, s) for s, st in state.stations.items() if st.units is LoadUnit.LB}
        cueing = {(agent, s) for s, st in state.stations.items() if st.end_set_at_velocity_loss_pct is not None}
        mine = {k: v for k, v in self._hosted.items() if k[0] == agent}
        if (self._state_stations.get(agent) != stations or mine != hosted or _of(agent, self._pounds) != pounds
                or _of(agent, self._cueing) != cueing):
            self._state_stations[agent] = stations
            self._hosted = {k: v for k, v in self._hosted.items() if k[0] != agent} | hosted
            self._pounds = (self._pounds - _of(agent, self._pounds)) | pounds
            self._cueing = (self._cueing - _of(agent, self._cueing)) | cueing
            self._discovery_due = True
            self.due.set()

    def forget_agent(self, agent_id: str) -> None:
        """Its retained state was cleared: the agent is gone (unless the config file still names it)."""
        self._hosted = {k: v for k, v in self._hosted.items() if k[0] != agent_id}
        self._pounds -= _of(agent_id, self._pounds)
        self._cueing -= _of(agent_id, self._cueing)
        if self._state_stations.pop(agent_id, None) is not None:
            log.info("hub: agent %s cleared its state; removing it from Home Assistant", agent_id)
            self._discovery_due = True
            self.due.set()

    def on_velocity_loss(self, cue: VelocityLossReached) -> None:
        """An agent's stop cue: relayed in the next cycle, which this starts now."""
        self._cues.append(cue)
        self.due.set()

    def sets_ended(self, set_ids: Iterable[str]) -> None:
        self._completed.extend(set_ids)
        self.due.set()

    def close(self) -> None:
        self._views.close()

    # Claims by name (blocking) -------------------------------------------------------------------------
    def resolve_claims(self, commands: Iterable[ClaimLastCommand]) -> tuple[list[ClaimCommand], list[str]]:
        """Each command becomes a claim of its station's last ended set, or a reason it cannot."""
        try:
            names = member_names(self._members_db)
        except MemberError as err:
            names = self._members
            log.warning("hub: cannot read member names, using the last known: %s", err)
        by_key = {name.casefold(): member_id for member_id, name in names.items()} | {m: m for m in names}
        claims: list[ClaimCommand] = []
        rejected: list[str] = []
        for command in commands:
            where = f"{command.agent_id}/{command.station}"
            member_id = None
            if command.member not in (None, "", NOBODY):
                member_id = by_key.get(str(command.member).casefold())
                if member_id is None:
                    rejected.append(f"claim of the last set at {where}: no member named {command.member!r}")
                    continue
            last = self._views.last_set(command.agent_id, command.station, names)
            if last is None:
                rejected.append(f"claim of the last set at {where}: the station has no ended set")
                continue
            claims.append(ClaimCommand(set_id=last.set_id, member=member_id, by=command.by))
        return claims, rejected

    # The loop ----------------------------------------------------------------------------------------
    async def run(self, client_of: ClientOf) -> None:
        while True:
            await woken(self.due, self._poll_s)
            self.due.clear()
            client = client_of()
            if client is None:
                continue
            try:
                await self._cycle(client)
            except (aiomqtt.MqttError, TransientError) as err:
                log.warning("hub: Home Assistant update postponed: %s", err)
                self._force = True

    async def _cycle(self, client: aiomqtt.Client) -> None:
        await self._publish_cues(client)  # first: a cue is worth something only within seconds
        force, self._force = self._force, False
        members_changed = await asyncio.to_thread(self._read_members)
        version = await asyncio.to_thread(self._views.version)
        units_changed = (version != self._journal_version or force) and await asyncio.to_thread(
            self._read_member_units)
        self._discovery_due |= units_changed
        if force or members_changed or self._discovery_due:
            self._discovery_due = False
            await self._reconcile_discovery(client, force)
        if units_changed:
            self._resend_views_at = time.monotonic() + UNITS_SETTLE_S
        resend = self._resend_views_at is not None and time.monotonic() >= self._resend_views_at
        due = (force, members_changed, resend, version != self._journal_version, time.monotonic() >= self._next_refresh)
        if any(due):
            self._journal_version = version
            self._next_refresh = time.monotonic() + self._settings.refresh_s
            self._resend_views_at = None if resend else self._resend_views_at
            await self._publish_views(client, force or resend)
        await self._publish_completed(client)

    def stations(self) -> dict[str, list[str]]:
        """Agent id → station ids: the agent's latest retained state, else the config file."""
        agents = set(self._config_stations) | set(self._state_stations)
        found = {a: self._state_stations.get(a) or self._config_stations.get(a, []) for a in agents}
        return {a: s for a, s in found.items() if s}

    def _read_members(self) -> bool:
        """Re-read names when the gallery file changed (enrolment, rename, deletion by the CLI)."""
        try:
            stat = self._members_db.stat()
            signature = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            signature = (0.0, 0)
        if signature == self._members_signature:
            return False
        try:
            members = member_names(self._members_db) if signature[1] else {}
        except MemberError as err:
            log.warning("hub: cannot read member names: %s", err)
            return False
        self._members_signature = signature
        changed = members != self._members
        self._members = members
        return changed

    def _read_member_units(self) -> bool:
        """Re-read which members want lb (``replens members set --unit``, the members' page); True when changed."""
        pounds = self._views.members_in_pounds()
        changed, self._member_pounds = pounds != self._member_pounds, pounds
        return changed

    async def _reconcile_discovery(self, client: aiomqtt.Client, force: bool) -> None:
        fmt = self._settings.discovery_format
        stations, members = self.stations(), self._members
        wanted, other_form = {}, {}
        if self._settings.discovery:
            wanted = all_configs(self._ctx, stations, members, fmt, self._hosted, pounds=self._pounds,
                                 member_pounds=self._member_pounds, cueing=self._cueing)
            other_form = all_configs(self._ctx, stations, members, "component" if fmt == "device" else "device",
                                     self._hosted, pounds=self._pounds, member_pounds=self._member_pounds,
                                     cueing=self._cueing)
        steps = plan(self._published, wanted, other_form, force=force)
        target = Published.of(wanted, self._ctx.is_device_topic)
        # Record first what may be on the broker, so a hub killed half-way still clears it after a restart.
        await asyncio.to_thread(self._save_record, self._published.merged(target))
        await self._send(client, steps, fmt)
        self._published = target
        await asyncio.to_thread(self._save_record, target)

    async def _send(self, client: aiomqtt.Client, steps: DiscoveryPlan, fmt: str) -> None:
        for topic, payload in steps.removals:
            await client.publish(topic, payload, qos=1, retain=True)
        for topic in steps.migrate:
            await client.publish(topic, MIGRATE, qos=1, retain=True)
            self.counts["discovery_migrated"] += 1
        if steps.migrate:
            log.info("hub: handing %d Home Assistant discovery configs over to %s discovery (migrate_discovery); "
                     "new configs in %.1f s", len(steps.migrate), fmt, self._settings.migration_pause_s)
            await asyncio.sleep(self._settings.migration_pause_s)
        for topic, payload in steps.publish:
            await client.publish(topic, payload, qos=1, retain=True)
            self.counts["discovery_published"] += 1
        for topic in steps.clear:
            await client.publish(topic, b"", qos=1, retain=True)
            self.counts["discovery_cleared"] += 1
        if gone := len(steps.clear) - len(steps.migrate):
            log.info("hub: removed %d Home Assistant discovery configs that no longer exist", gone)

    async def _publish_views(self, client: aiomqtt.Client, force: bool) -> None:
        wanted = await asyncio.to_thread(self._compute_views)
        for topic, payload in wanted.items():
            if force or self._views_sent.get(topic) != payload:
                await client.publish(topic, payload, qos=1, retain=True)
                self._views_sent[topic] = payload
                self.counts["views_published"] += 1
        for topic in sorted(set(self._views_sent) - set(wanted)):
            await client.publish(topic, b"", qos=1, retain=True)
            del self._views_sent[topic]

    def _compute_views(self) -> dict[str, bytes]:
        views: dict[str, bytes] = {}
        for agent_id, stations in self.stations().items():
            for station in stations:
                last = self._views.last_set(agent_id, station, self._members)
                if last is not None:
                    views[self._topics.station_last_set(agent_id, station)] = last.to_json()
        present = {m.member for m in self._attributor.presence().members}
        today = day_start(datetime.now(UTC))
        for member_id, name in self._members.items():
            state = self._views.member_state(member_id, name, member_id in present, today)
            views[self._topics.member_state(member_id)] = state.to_json()
        return views

    async def _publish_completed(self, client: aiomqtt.Client) -> None:
        while self._completed:
            set_id = self._completed[0]
            event = await asyncio.to_thread(self._views.completed, set_id, self._members)
            if event is not None:
                topic = self._topics.station_set_completed(event.agent_id, event.station)
                await client.publish(topic, event.to_json(), qos=1)
                self.counts["completed"] += 1
            self._completed.popleft()

    async def _publish_cues(self, client: aiomqtt.Client) -> None:
        while self._cues:
            cue = self._cues[0]
            age_s = time.time() - cue.at.timestamp()
            if cue.set_id in self._cued:
                self.counts["velocity_cues_duplicate"] += 1
            elif age_s > MAX_CUE_AGE_S:
                self.counts["velocity_cues_stale"] += 1
                log.warning("hub: velocity-loss cue of set %s is %.0f s old; dropped (a late stop cue misleads)",
                            cue.set_id, age_s)
            else:
                member = cue.member or await asyncio.to_thread(self._views.member_of, cue.set_id)
                relayed = cue.model_copy(update={"member": member})
                await client.publish(self._topics.station_velocity_loss(cue.agent_id, cue.station),
                                     relayed.to_json(), qos=1)
                self._cued.append(cue.set_id)
                self.counts["velocity_cues"] += 1
            self._cues.popleft()

    def _save_record(self, published: Published) -> None:
        document = {"configs": dict(sorted(published.hashes.items())), "components": published.components,
                    "stations": dict(sorted(self._state_stations.items())),
                    "velocity_loss_stations": sorted(f"{a}/{s}" for a, s in self._cueing)}
        self._record_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._record_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1) + "\n")
        temporary.replace(self._record_path)


def _of(agent_id: str, stations: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {k for k in stations if k[0] == agent_id}


def _load_record(path: Path) -> tuple[Published, dict[str, list[str]], set[tuple[str, str]]]:
    """What discovery last published, agent id → station ids, and the stations with a velocity-loss target.

    As last recorded; empty when there is none.
    """
    try:
        document = json.loads(path.read_text())
        hashes = {str(t): str(h) for t, h in document.get("configs", {}).items()}
        components = {str(t): {str(k): str(p) for k, p in keys.items()}
                      for t, keys in document.get("components", {}).items()}
        stations = {str(a): [str(s) for s in ids] for a, ids in document.get("stations", {}).items()}
        cueing = {(a, s) for a, _, s in (str(k).partition("/") for k in document.get("velocity_loss_stations", []))}
    except FileNotFoundError:
        return Published(), {}, set()
    except (OSError, ValueError, AttributeError, TypeError) as err:
        log.warning("hub: ignoring unreadable %s (%s); stale Home Assistant entities may stay", path, err)
        return Published(), {}, set()
    return Published(hashes, components), stations, cueing
