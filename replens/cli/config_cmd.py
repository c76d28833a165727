"""``replens config check`` and ``replens config schema``."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from replens.config import RepLensConfig, load_config


def check_config(path: Path) -> int:
    """Raises ConfigError (exit 2) with file:line messages; prints a short summary when valid."""
    config = load_config(path)
    console = Console()
    stations = sum(len(a.stations) for a in config.agents.values())
    influx = f"InfluxDB api_version {config.influxdb.api_version}" if config.influxdb else "no InfluxDB"
    console.print(
        f"[green]{path}: valid[/green] - {len(config.agents)} agent(s), {stations} station(s), "
        f"broker {config.mqtt.host}:{config.mqtt.port}, {influx}"
    )
    return 0


def print_config_schema() -> int:
    print(json.dumps(RepLensConfig.model_json_schema(), indent=2))
    return 0
