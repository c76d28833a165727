"""RepLens in Home Assistant beyond MQTT discovery: enrol a member at the entrance camera, claim a set by id.

Discovery already gives every entity; these services cover what an entity cannot express. They only
publish RepLens's MQTT commands: faces never pass through Home Assistant. Enrolment outcomes arrive as
``replens_enrolment`` events (``name``, ``ok``, ``member``, ``message``) for automations and notifications.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

DOMAIN = "replens"
EVENT_ENROLMENT = "replens_enrolment"
DEFAULT_PREFIX = "replens"
RETRY_S = 5.0
_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)
ENROL_SCHEMA = vol.Schema(
    {
        vol.Required("agent"): cv.string,
        vol.Required("name"): vol.All(cv.string, vol.Length(min=1, max=64)),
        vol.Required("consent"): cv.boolean,
        vol.Optional("frames", default=5): vol.All(vol.Coerce(int), vol.Range(min=1, max=20)),
        vol.Optional("prefix", default=DEFAULT_PREFIX): cv.string,
    }
)
CLAIM_SCHEMA = vol.Schema(
    {
        vol.Required("set_id"): cv.string,
        vol.Optional("member"): vol.Any(None, cv.string),  # a member id; empty or null: nobody enrolled
        vol.Optional("prefix", default=DEFAULT_PREFIX): cv.string,
    }
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services; listen for enrolment results once MQTT is connected."""

    async def enrol_member(call: ServiceCall) -> None:
        payload = {"schema": 1, "name": call.data["name"], "consent": call.data["consent"],
                   "frames": call.data["frames"], "by": "homeassistant"}
        topic = f"{call.data['prefix']}/agent/{call.data['agent']}/enrol"
        await mqtt.async_publish(hass, topic, json.dumps(payload), qos=1)

    async def claim_set(call: ServiceCall) -> None:
        payload = {"schema": 1, "set_id": call.data["set_id"], "member": call.data.get("member") or None,
                   "by": "homeassistant"}
        await mqtt.async_publish(hass, f"{call.data['prefix']}/hub/claim", json.dumps(payload), qos=1)

    hass.services.async_register(DOMAIN, "enrol_member", enrol_member, schema=ENROL_SCHEMA)
    hass.services.async_register(DOMAIN, "claim_set", claim_set, schema=CLAIM_SCHEMA)
    hass.async_create_background_task(_listen_for_results(hass), "replens enrolment results")
    return True


async def _listen_for_results(hass: HomeAssistant) -> None:
    """Wait for the MQTT client (its config entry may be added later), then relay results as events."""
    while not await mqtt.async_wait_for_mqtt_client(hass):  # noqa: ASYNC110 - MQTT has no entry-added event
        await asyncio.sleep(RETRY_S)  # no MQTT config entry yet: it returns at once, so wait between tries

    @callback
    def relay(message: Any) -> None:
        try:
            result = json.loads(message.payload)
        except ValueError:
            _LOGGER.warning("replens: ignored a malformed enrolment result on %s", message.topic)
            return
        if isinstance(result, dict):
            hass.bus.async_fire(EVENT_ENROLMENT, {k: result.get(k) for k in ("name", "ok", "member", "message")})

    await mqtt.async_subscribe(hass, "+/agent/+/enrol_result", relay, qos=1)
