"""``replens stations load AGENT.STATION LOAD``: tell a station the load on its bar or stack, over MQTT.

The command goes to the agent's command topic (as Home Assistant's number sends it); the agent keeps it in
its outbox and says so in its retained state, which this command waits for: a station whose agent is not
running does not take the load, and the CLI says so instead of pretending.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from replens.config import RepLensConfig
from replens.contract import AgentState, LoadUnit, StationCommand, StationCommandKind, from_kg
from replens.contract.parsing import first_error
from replens.errors import RepLensError
from replens.mqtt_options import password, tls_context

CONFIRM_TOLERANCE_KG = 0.0005


def parse_station(text: str) -> tuple[str, str]:
    """``rack_1.bench`` → (agent id, station id)."""
    agent, dot, station = text.partition(".")
    if not dot or not agent or not station:
        raise RepLensError(f"{text!r}: name the station as AGENT.STATION (e.g. rack_1.bench)")
    return agent, station


def station_units(config: RepLensConfig, agent: str, station: str) -> LoadUnit:
    """The station's ``units`` where this config describes it, else kg."""
    found = config.agents.get(agent)
    described = found.stations.get(station) if found is not None else None
    return described.units if described is not None else LoadUnit.KG


def set_load(config: RepLensConfig, target: str, load: float, unit: str | None, *, wait_s: float) -> int:
    """Send ``set_load`` and wait until the agent's retained state shows the new load."""
    agent, station = parse_station(target)
    chosen = LoadUnit(unit) if unit else station_units(config, agent, station)
    try:
        command = StationCommand(station=station, command=StationCommandKind.SET_LOAD, load=load, unit=chosen,
                                 by="cli")
    except ValidationError as err:
        raise RepLensError(f"{target}: {first_error(err)}") from None
    wanted = command.load_kg
    assert wanted is not None
    shown = _send_and_confirm(config, agent, station, command, wanted_kg=wanted, wait_s=wait_s)
    if shown is None:
        raise RepLensError(f"{target}: agent {agent} did not confirm the load within {wait_s:g} s (is it running, "
                           "with this station?); nothing was kept")
    print(f"{target}: load {from_kg(wanted, chosen):g} {chosen} ({wanted:g} kg) for the set under way and the next")
    return 0


def _send_and_confirm(config: RepLensConfig, agent: str, station: str, command: StationCommand, *, wanted_kg: float,
                      wait_s: float) -> float | None:
    topics = config.mqtt.topics
    confirmed = threading.Event()
    shown: list[float] = []

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            state = AgentState.model_validate_json(message.payload)
        except ValidationError:
            return
        found = state.stations.get(station)
        if found is not None and found.load_kg is not None and abs(found.load_kg - wanted_kg) < CONFIRM_TOLERANCE_KG:
            shown.append(found.load_kg)
            confirmed.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"replens-cli-{uuid.uuid4().hex}")
    if config.mqtt.username:
        client.username_pw_set(config.mqtt.username, password(config.mqtt))
    context = tls_context(config.mqtt)
    if context is not None:
        client.tls_set_context(context)
    client.on_message = on_message
    try:
        client.connect(config.mqtt.host, config.mqtt.port)
    except OSError as err:
        raise RepLensError(f"broker {config.mqtt.host}:{config.mqtt.port}: {err}") from None
    client.loop_start()
    try:
        client.subscribe(topics.agent_state(agent), qos=1)
        client.publish(topics.agent_command(agent), command.model_dump_json(by_alias=True, exclude_none=True),
                       qos=1).wait_for_publish(wait_s)
        confirmed.wait(wait_s)
    finally:
        client.loop_stop()
        client.disconnect()
    return shown[0] if shown else None
