"""The whole configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from replens.config.agent import AgentConfig
from replens.config.base import StrictModel
from replens.config.homeassistant import HomeAssistantConfig
from replens.config.hub import HubConfig
from replens.config.identity import IdentityConfig
from replens.config.influxdb import InfluxConfig
from replens.config.mqtt import MqttConfig
from replens.contract.events import Id

CURRENT_VERSION: Literal[1] = 1


class LoggingConfig(StrictModel):
    """Log verbosity of the services."""

    level: Literal["debug", "info", "warning", "error"] = "info"


class RepLensConfig(StrictModel):
    """The whole file: one for the hub and every agent of a gym."""

    version: Literal[1] = Field(default=CURRENT_VERSION, description="Config file format version.")
    data_dir: Path = Field(
        default=Path("data"), description="Where outboxes and the journal live (relative to this file)."
    )
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    influxdb: InfluxConfig | None = Field(default=None, description="Leave out to run the hub without InfluxDB.")
    hub: HubConfig = Field(default_factory=HubConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    agents: dict[Id, AgentConfig] = Field(default_factory=dict, description="Camera boxes, by agent id.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    def hub_data_dir(self) -> Path:
        return self.hub.data_dir or self.data_dir / "hub"

    def journal_path(self) -> Path:
        """The hub's journal: the hub writes it, the CLI reads and edits it."""
        return self.hub_data_dir() / "journal.sqlite3"

    def members_db(self) -> Path:
        return self.identity.members_db or self.hub_data_dir() / "members.sqlite3"

    def agent_data_dir(self, agent_id: str) -> Path:
        return self.agents[agent_id].data_dir or self.data_dir / "agents" / agent_id

    def agent_mqtt(self, agent_id: str) -> MqttConfig:
        """The broker settings with this agent's own account, when it has one."""
        agent = self.agents[agent_id]
        if agent.mqtt_username is None:
            return self.mqtt
        return self.mqtt.model_copy(update={"username": agent.mqtt_username, "password": agent.mqtt_password})
