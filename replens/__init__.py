"""RepLens spine: the MQTT contract and the configuration that agent and hub share."""

__version__ = "0.1.0"
