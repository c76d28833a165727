"""Configuration: one YAML file, strict pydantic models, errors with file:line and key path."""

from replens.config.agent import (
    AgentConfig,
    BarbellTrackerConfig,
    CounterConfig,
    EntranceConfig,
    PoseTrackerConfig,
    SourceConfig,
    StackTrackerConfig,
    StationConfig,
)
from replens.config.homeassistant import HomeAssistantConfig
from replens.config.hub import HubConfig
from replens.config.identity import FaceMatchConfig, IdentityConfig
from replens.config.influxdb import InfluxConfig
from replens.config.loader import load_config
from replens.config.mqtt import MqttConfig, MqttTlsConfig
from replens.config.root import LoggingConfig, RepLensConfig

__all__ = [
    "AgentConfig",
    "BarbellTrackerConfig",
    "CounterConfig",
    "EntranceConfig",
    "FaceMatchConfig",
    "HomeAssistantConfig",
    "HubConfig",
    "IdentityConfig",
    "InfluxConfig",
    "LoggingConfig",
    "MqttConfig",
    "MqttTlsConfig",
    "PoseTrackerConfig",
    "RepLensConfig",
    "SourceConfig",
    "StackTrackerConfig",
    "StationConfig",
    "load_config",
]
