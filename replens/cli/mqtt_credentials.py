"""``replens mqtt credentials``: broker accounts, the ACL, TLS certificates and the passwords to hand out.

Every password is new and random (``secrets``); nothing secret is printed, only the paths written.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from replens.config.root import RepLensConfig
from replens.errors import ConfigError, RepLensError
from replens.mosquitto_passwd import password_line
from replens.mqtt_acl import AclPlan, build_acl, default_agent_username, plan_from_config

PASSWORD_BYTES = 24  # 32 URL-safe characters, 192 bits: beyond offline guessing even at 101 PBKDF2 rounds
BROKER_FILES = ("passwd", "acl", "ca.crt", "server.crt", "server.key")
CA_KEY = "ca.key"
ENV_FILE = "mqtt.env"
SECRETS_DIR = "secrets"
_PLACEHOLDER = re.compile(r"^\{(REPLENS_[A-Z0-9_]+)\}$")


@dataclass(frozen=True, slots=True)
class Account:
    """One broker account and the ``{REPLENS_*}`` secret its password is read from."""

    username: str
    secret_name: str
    role: str


class _KeepPlaceholders(Mapping[str, str]):
    """An environment in which every ``{REPLENS_X}`` placeholder resolves to itself."""

    def __getitem__(self, name: str) -> str:
        return "{" + name + "}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def load_unresolved(path: Path) -> RepLensConfig:
    """The config with its secret placeholders left in place: the secrets do not exist yet."""
    from replens.config import load_config

    return load_config(path, env=_KeepPlaceholders(), secrets_dir=Path("/nonexistent"))


def _secret_name(value: SecretStr | None, username: str) -> str:
    match = _PLACEHOLDER.fullmatch(value.get_secret_value()) if value is not None else None
    if match:
        return match.group(1)
    return "REPLENS_MQTT_" + re.sub(r"[^A-Z0-9]", "_", username.upper()) + "_PASSWORD"


def accounts_for(config: RepLensConfig, plan: AclPlan) -> list[Account]:
    """The hub, every agent and (when planned) Home Assistant; secret names come from the config's placeholders."""
    found = [Account(plan.hub_username, _secret_name(config.mqtt.password, plan.hub_username), "hub")]
    for agent in plan.agents:
        agent_config = config.agents[agent.agent_id]
        found.append(Account(agent.username, _secret_name(agent_config.mqtt_password, agent.username),
                             f"agent {agent.agent_id}"))
    if plan.homeassistant_username is not None:
        found.append(Account(plan.homeassistant_username, _secret_name(None, plan.homeassistant_username),
                             "Home Assistant"))
    names = [a.secret_name for a in found]
    for account in found:
        if names.count(account.secret_name) > 1:
            raise ConfigError(f"two broker accounts read their password from {account.secret_name}; give each "
                              "its own {REPLENS_*} placeholder")
    return found


def config_notes(config: RepLensConfig, accounts: list[Account]) -> list[str]:
    """What the config must say for the services to log in with these accounts (no secrets)."""
    notes = []
    hub = accounts[0]
    if config.mqtt.username is None or _secret_name(config.mqtt.password, hub.username) != hub.secret_name:
        notes.append(f'mqtt: set username: {hub.username} and password: "{{{hub.secret_name}}}"')
    elif config.mqtt.password is None:
        notes.append(f'mqtt: set password: "{{{hub.secret_name}}}"')
    by_name = {a.username: a for a in accounts}
    for agent_id, agent in sorted(config.agents.items()):
        username = agent.mqtt_username or default_agent_username(agent_id)
        secret = by_name[username].secret_name
        if agent.mqtt_username is None or agent.mqtt_password is None:
            notes.append(f"agents.{agent_id}: it would log in as the hub; set mqtt_username: {username} and "
                         f'mqtt_password: "{{{secret}}}"')
        elif not _PLACEHOLDER.fullmatch(agent.mqtt_password.get_secret_value()):
            notes.append(f'agents.{agent_id}: mqtt_password is written in the file; use "{{{secret}}}"')
    return notes


def write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` with exactly ``mode`` through a temporary file, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)  # the umask may have taken bits away
        f.write(data)
    temporary.replace(path)


def private_dir(path: Path) -> None:
    """Create ``path`` owner-only (0700); an existing folder open to others is tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def broker_files(plan: AclPlan, passwords: Mapping[str, str]) -> dict[str, bytes]:
    """``passwd`` and ``acl`` for Mosquitto; ``passwords`` maps user names to passwords."""
    passwd = "".join(password_line(user, password) + "\n" for user, password in passwords.items())
    return {"passwd": passwd.encode(), "acl": build_acl(plan).encode()}


def tls_files(ca_cert: Path, ca_key: Path, hostnames: list[str], *, new_ca: bool) -> dict[str, tuple[bytes, int]]:
    """The CA (the existing one unless ``new_ca``) and a fresh server certificate, by file name, with modes."""
    from replens.mqtt_certs import KeyPair, make_ca, make_server_cert

    if not new_ca and ca_cert.is_file() and ca_key.is_file():
        ca = KeyPair(ca_cert.read_bytes(), ca_key.read_bytes())
    else:
        ca = make_ca()
    server = make_server_cert(ca, hostnames)
    return {"ca.crt": (ca.cert_pem, 0o644), CA_KEY: (ca.key_pem, 0o600),
            "server.crt": (server.cert_pem, 0o644), "server.key": (server.key_pem, 0o600)}


def default_hostnames(config: RepLensConfig, extra: list[str]) -> list[str]:
    return list(dict.fromkeys([*extra, config.mqtt.host, "localhost", "127.0.0.1", "::1"]))


def generate_credentials(
    config_path: Path, folder: Path, *, force: bool, hostnames: list[str], homeassistant: bool, new_ca: bool,
) -> int:
    """Write every file under ``folder``; refuse to replace existing ones without ``force``."""
    config = load_unresolved(config_path)
    try:
        plan = plan_from_config(config, homeassistant_username="homeassistant" if homeassistant else None)
    except ValueError as err:
        raise ConfigError(f"{config_path}: {err}") from err
    accounts = accounts_for(config, plan)
    targets = [folder / name for name in (*BROKER_FILES, CA_KEY, ENV_FILE)]
    targets += [folder / SECRETS_DIR / a.secret_name for a in accounts]
    existing = [p.name for p in targets if p.exists()]
    if existing and not force:
        raise RepLensError(f"{folder} already holds credentials ({', '.join(existing[:3])}, ...); pass --force to "
                           "replace them (every old password stops working; the CA is kept unless --new-ca)")
    private_dir(folder)
    private_dir(folder / SECRETS_DIR)
    passwords = {a.username: secrets.token_urlsafe(PASSWORD_BYTES) for a in accounts}
    files = {name: (data, 0o600) for name, data in broker_files(plan, passwords).items()}
    files |= tls_files(folder / "ca.crt", folder / CA_KEY, default_hostnames(config, hostnames), new_ca=new_ca)
    files[ENV_FILE] = ("".join(f"{a.secret_name}={passwords[a.username]}\n" for a in accounts).encode(), 0o600)
    for account in accounts:
        files[f"{SECRETS_DIR}/{account.secret_name}"] = (passwords[account.username].encode() + b"\n", 0o600)
    for name, (data, mode) in files.items():
        write_file(folder / name, data, mode)
    _report(folder, accounts, config_notes(config, accounts))
    return 0


def _report(folder: Path, accounts: list[Account], notes: list[str]) -> None:
    print(f"Wrote the broker's files to {folder}: passwd, acl, ca.crt, server.crt, server.key")
    print(f"CA signing key (keep it off the broker): {folder / CA_KEY}")
    print(f"Every password, as environment lines: {folder / ENV_FILE}")
    for account in accounts:
        print(f"  {account.role}: user {account.username}, password in {folder / SECRETS_DIR / account.secret_name}")
    print("Copy each box only its own secret file (to /run/secrets/), and ca.crt; see docs/security.md.")
    for note in notes:
        print(f"config: {note}", file=sys.stderr)
