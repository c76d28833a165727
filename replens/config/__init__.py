"""Configuration: one YAML file, strict pydantic models, errors with file:line and key path."""

from replens.config.agent import (
    AgentConfig,
    BarbellTrackerConfig,
    CounterConfig,
    PoseTrackerConfig,
    SourceConfig,
    StackTrackerConfig,
    StationConfig,
)
from replens.config.hub import HubConfig
from replens.config.influxdb import InfluxConfig
from replens.config.loader import load_config
from replens.config.mqtt import MqttConfig, MqttTlsConfig
from replens.config.root import LoggingConfig, RepLensConfig

__all__ = [
    "AgentConfig",
    "BarbellTrackerConfig",
    "CounterConfig",
    "HubConfig",
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
