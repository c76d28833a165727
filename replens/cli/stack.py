"""``replens stack init``: the secrets docker-compose.yml needs, generated, never committed.

Writes ``.env`` (every password and token, owner-only) and the broker's files in config/mosquitto/: the
password file and the ACL for the accounts of config/compose.yaml, and the TLS certificate of the 8883
listener. The CA's signing key goes to secrets/, which no container mounts.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

from rich.console import Console

from replens.cli.mqtt_credentials import (
    Account,
    accounts_for,
    broker_files,
    load_unresolved,
    private_dir,
    tls_files,
    write_file,
)
from replens.contract.topics import Topics
from replens.errors import ConfigError
from replens.mqtt_acl import AclPlan, AgentAccount, plan_from_config

ENV_FILE = ".env"
MOSQUITTO_DIR = Path("config") / "mosquitto"
PASSWD_FILE = MOSQUITTO_DIR / "passwd"
ACL_FILE = MOSQUITTO_DIR / "acl"
CERTS_DIR = MOSQUITTO_DIR / "certs"
CA_KEY_FILE = Path("secrets") / "mqtt-ca.key"
COMPOSE_CONFIG = Path("config") / "compose.yaml"
SECRETS = ("INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_TOKEN", "GRAFANA_ADMIN_PASSWORD", "GRAFANA_INFLUX_PASSWORD",
           "STAFF_DESK_PASSWORD")
BROKER_HOSTNAMES = ["mosquitto", "localhost", "127.0.0.1", "::1"]  # the compose service, then this machine


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose_accounts(folder: Path) -> tuple[AclPlan, list[Account]]:
    """The broker accounts of config/compose.yaml (hub and agent-demo when the folder has none)."""
    path = folder / COMPOSE_CONFIG
    if not path.is_file():
        plan = AclPlan(Topics(), "hub", (AgentAccount("agent-demo", "demo"),), homeassistant_username="homeassistant")
        return plan, [Account("hub", "REPLENS_MQTT_HUB_PASSWORD", "hub"),
                      Account("agent-demo", "REPLENS_MQTT_AGENT_DEMO_PASSWORD", "agent demo"),
                      Account("homeassistant", "REPLENS_MQTT_HOMEASSISTANT_PASSWORD", "Home Assistant")]
    config = load_unresolved(path)
    try:
        plan = plan_from_config(config)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err
    return plan, accounts_for(config, plan)


def env_key(account: Account) -> str:
    """``.env`` names drop the REPLENS_ prefix; docker-compose.yml maps them back (MQTT_HUB_PASSWORD)."""
    return account.secret_name.removeprefix("REPLENS_")


def init_stack(folder: Path, *, force: bool, hostnames: list[str] | None = None) -> int:
    """Write .env, the broker's password file, ACL and certificates; keep existing secrets unless --force."""
    if not (folder / "docker-compose.yml").is_file():
        raise ConfigError(f"{folder}: no docker-compose.yml here; run this in the RepLens checkout (or pass --dir)")
    plan, accounts = compose_accounts(folder)
    env_path = folder / ENV_FILE
    values = read_env(env_path) if env_path.exists() and not force else {}
    for key in (*SECRETS, *(env_key(a) for a in accounts)):
        values.setdefault(key, secrets.token_urlsafe(24))
    values.setdefault("COMPOSE_PROJECT_NAME", "replens")
    write_file(env_path, "".join(f"{k}={v}\n" for k, v in sorted(values.items())).encode(), 0o600)
    (folder / MOSQUITTO_DIR).mkdir(parents=True, exist_ok=True)
    # Owner-only on the host; the broker container copies them to its own user when it starts.
    passwords = {a.username: values[env_key(a)] for a in accounts}
    for name, data in broker_files(plan, passwords).items():
        write_file(folder / MOSQUITTO_DIR / name, data, 0o600)
    certs = folder / CERTS_DIR
    if force or not (certs / "server.crt").is_file():
        _write_certs(folder, [*(hostnames or []), *BROKER_HOSTNAMES, socket.gethostname()])
    Console().print(
        f"Wrote {env_path} (secrets, owner-only), {folder / PASSWD_FILE}, {folder / ACL_FILE} and the broker's "
        f"TLS certificate in {certs} (camera boxes need {certs / 'ca.crt'}).\n"
        "Next: [bold]docker compose up -d[/bold], then open Grafana on http://localhost:3000 "
        f"(user admin, password in {env_path} as GRAFANA_ADMIN_PASSWORD), and the members' page on "
        f"http://localhost:8180 (staff: desk, password in {env_path} as STAFF_DESK_PASSWORD; members get links "
        "from replens members invite)."
    )
    return 0


def _write_certs(folder: Path, hostnames: list[str]) -> None:
    certs, ca_key = folder / CERTS_DIR, folder / CA_KEY_FILE
    certs.mkdir(parents=True, exist_ok=True)
    private_dir(ca_key.parent)
    files = tls_files(certs / "ca.crt", ca_key, list(dict.fromkeys(hostnames)), new_ca=False)
    for name, (data, mode) in files.items():
        write_file(ca_key if name == "ca.key" else certs / name, data, mode)
