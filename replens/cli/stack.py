"""``replens stack init``: the secrets docker-compose.yml needs, generated, never committed."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rich.console import Console

from replens.errors import ConfigError
from replens.mosquitto_passwd import password_line

ENV_FILE = ".env"
PASSWD_FILE = Path("config") / "mosquitto" / "passwd"
SECRETS = (
    "INFLUXDB_ADMIN_PASSWORD",
    "INFLUXDB_TOKEN",
    "GRAFANA_ADMIN_PASSWORD",
    "GRAFANA_INFLUX_PASSWORD",
    "MQTT_HUB_PASSWORD",
    "MQTT_AGENT_DEMO_PASSWORD",
)
MQTT_USERS = {"hub": "MQTT_HUB_PASSWORD", "agent-demo": "MQTT_AGENT_DEMO_PASSWORD"}


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def init_stack(folder: Path, *, force: bool) -> int:
    """Write .env (random secrets) and config/mosquitto/passwd; keep existing secrets unless --force."""
    if not (folder / "docker-compose.yml").is_file():
        raise ConfigError(f"{folder}: no docker-compose.yml here; run this in the RepLens checkout (or pass --dir)")
    env_path = folder / ENV_FILE
    values = read_env(env_path) if env_path.exists() and not force else {}
    for key in SECRETS:
        values.setdefault(key, secrets.token_urlsafe(24))
    values.setdefault("COMPOSE_PROJECT_NAME", "replens")
    _write_private(env_path, "".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    passwd = folder / PASSWD_FILE
    passwd.parent.mkdir(parents=True, exist_ok=True)
    lines = [password_line(user, values[key]) for user, key in MQTT_USERS.items()]
    # Readable by the broker's own user inside its container; holds salted hashes only.
    passwd.write_text("\n".join(lines) + "\n")
    passwd.chmod(0o644)
    Console().print(
        f"Wrote {env_path} (secrets, owner-only) and {passwd}.\n"
        "Next: [bold]docker compose up -d[/bold], then open Grafana on http://localhost:3000 "
        f"(user admin, password in {env_path} as GRAFANA_ADMIN_PASSWORD)."
    )
    return 0


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)
