"""The ACL builder and `replens mqtt credentials`, without a broker (tests/integration/test_security.py has one)."""

from __future__ import annotations

import base64
import hashlib
import stat
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from cryptography import x509

from replens.cli.mqtt_credentials import ENV_FILE, generate_credentials
from replens.config import RepLensConfig
from replens.contract.topics import Topics
from replens.errors import ConfigError, RepLensError
from replens.mqtt_acl import AclPlan, AgentAccount, build_acl, plan_from_config

ROOT = Path(__file__).resolve().parents[2]
P = "replens"


def config(**agents: dict) -> RepLensConfig:
    return RepLensConfig.model_validate({"version": 1, "mqtt": {"username": "hub"}, "agents": agents})


def station_agent(username: str | None = None) -> dict:
    section: dict = {"source": {"url": "clip.mp4"}, "stations": {"bench": {"exercise": "chest_press"}}}
    if username:
        section["mqtt_username"] = username
    return section


ENTRANCE = {"source": {"url": 0}, "entrance": {"camera": "door"}, "mqtt_username": "agent-door"}


def rules(acl: str) -> dict[str, list[tuple[str, str]]]:
    """user -> [(access, topic)], parsed the way Mosquitto reads the file."""
    found: dict[str, list[tuple[str, str]]] = {}
    user = None
    for line in acl.splitlines():
        if line.startswith("user "):
            user = line.split(" ", 1)[1]
            found[user] = []
        elif line.startswith("topic "):
            assert user is not None, "a topic line before any user would apply to anonymous clients"
            _, access, topic = line.split(" ", 2)
            found[user].append((access, topic))
        else:
            assert not line.strip() or line.startswith("#"), f"unexpected ACL line {line!r}"
    return found


def allowed(acl: str, user: str, access: str, topic: str) -> bool:
    return any(a in (access, "readwrite") and mqtt.topic_matches_sub(pattern, topic)
               for a, pattern in rules(acl).get(user, []))


def test_acl_text_for_one_agent_and_the_hub():
    plan = AclPlan(Topics(P), "hub", (AgentAccount("agent-a1", "a1"),))
    assert build_acl(plan).split("\n\n")[2] == "\n".join([
        "# Agent a1: its own topics only.",
        "user agent-a1",
        "topic write replens/agent/a1/available",
        "topic write replens/agent/a1/state",
        "topic write replens/agent/a1/stats",
        "topic write replens/agent/a1/sets",
        "topic write replens/agent/a1/reps",
        "topic write replens/agent/a1/batch",
        "topic write replens/agent/a1/velocity_loss",
        "topic read replens/agent/a1/ack",
        "topic read replens/agent/a1/command",
        "topic read replens/hub/available",
    ]) + "\n"


@pytest.mark.parametrize(("access", "topic", "agent", "hub", "ha"), [
    ("write", f"{P}/agent/a1/state", True, False, False),
    ("write", f"{P}/agent/a1/available", True, False, False),
    ("write", f"{P}/agent/a1/stats", True, False, False),
    ("write", f"{P}/agent/a2/state", False, False, False),
    ("write", f"{P}/agent/a2/available", False, False, False),
    ("write", f"{P}/agent/a1/ack", False, True, False),
    ("write", f"{P}/agent/a1/command", False, False, True),
    ("write", f"{P}/hub/available", False, True, False),
    ("write", f"{P}/hub/claim", False, True, True),
    ("write", f"{P}/hub/body_weight", False, True, True),  # Home Assistant's body weight number
    ("write", f"{P}/hub/edit", False, True, True),  # corrections: Home Assistant's select, an operator's MQTT
    ("write", f"{P}/hub/edit_last", False, True, True),
    ("write", f"{P}/agent/a1/sets", True, False, False),
    ("write", f"{P}/agent/a2/sets", False, False, False),  # no agent passes off events as another's
    ("write", f"{P}/sets", False, False, False),  # the shared topic of earlier versions: nobody
    ("write", f"{P}/agent/a1/visits", False, False, False),  # a1 recognises no faces
    ("write", f"{P}/station/a1/bench/last_set", False, True, False),
    ("write", f"{P}/agent/a1/velocity_loss", True, False, False),  # live stop cues, relayed by the hub
    ("write", f"{P}/agent/a2/velocity_loss", False, False, False),
    ("write", f"{P}/station/a1/bench/velocity_loss", False, True, False),
    ("write", "homeassistant/sensor/replens/a1_bench_reps/config", False, True, False),
    ("write", "homeassistant/status", False, False, True),
    ("read", f"{P}/agent/a1/ack", True, True, True),
    ("read", f"{P}/agent/a1/command", True, True, True),
    ("read", f"{P}/agent/a2/ack", False, True, True),
    ("read", f"{P}/agent/a2/command", False, True, True),
    ("read", f"{P}/agent/a2/sets", False, True, True),
    ("read", f"{P}/hub/available", True, True, True),
    ("read", "homeassistant/status", False, True, True),
    ("write", "$SYS/broker/uptime", False, False, False),
    ("read", "other/topic", False, False, False),
])
def test_who_may_do_what(access, topic, agent, hub, ha):
    acl = build_acl(plan_from_config(config(a1=station_agent("agent-a1"), a2=station_agent("agent-a2"))))
    assert (allowed(acl, "agent-a1", access, topic), allowed(acl, "hub", access, topic),
            allowed(acl, "homeassistant", access, topic)) == (agent, hub, ha)


def test_only_face_recognising_agents_report_visits_and_only_station_agents_count_sets():
    acl = build_acl(plan_from_config(config(a1=station_agent("agent-a1"), door=ENTRANCE)))
    assert allowed(acl, "agent-door", "write", f"{P}/agent/door/visits")
    assert not allowed(acl, "agent-door", "write", f"{P}/agent/door/sets")
    assert not allowed(acl, "agent-a1", "write", f"{P}/agent/a1/visits")


def test_enrolment_requests_reach_only_their_entrance_camera_and_come_only_from_home_assistant():
    """Whoever can send an enrolment request can put a face on a member: the hub and agents cannot."""
    acl = build_acl(plan_from_config(config(a1=station_agent("agent-a1"), door=ENTRANCE)))
    assert allowed(acl, "agent-door", "read", f"{P}/agent/door/enrol")
    assert allowed(acl, "agent-door", "write", f"{P}/agent/door/enrol_result")
    assert allowed(acl, "homeassistant", "write", f"{P}/agent/door/enrol")
    assert allowed(acl, "homeassistant", "read", f"{P}/agent/door/enrol_result")
    assert allowed(acl, "hub", "read", f"{P}/agent/door/enrol_result")
    for user in ("agent-a1", "agent-door", "hub"):
        assert not allowed(acl, user, "write", f"{P}/agent/door/enrol")
    assert not allowed(acl, "agent-a1", "write", f"{P}/agent/door/enrol_result")
    assert not allowed(acl, "agent-a1", "read", f"{P}/agent/a1/enrol")


def test_shared_event_topics_only_on_request():
    """per_agent_events=False writes the ACL for agents of earlier versions, which used the shared topics."""
    acl = build_acl(plan_from_config(config(a1=station_agent("agent-a1")), per_agent_events=False))
    assert allowed(acl, "agent-a1", "write", f"{P}/sets")
    assert not allowed(acl, "agent-a1", "write", f"{P}/agent/a1/sets")
    assert allowed(acl, "agent-a1", "write", f"{P}/agent/a1/velocity_loss")  # never shared: newer than that layout


def test_per_agent_events_fence_events_to_the_agents_own_topics():
    acl = build_acl(plan_from_config(config(a1=station_agent("agent-a1"), door=ENTRANCE)))
    assert allowed(acl, "agent-a1", "write", f"{P}/agent/a1/sets")
    assert allowed(acl, "agent-a1", "write", f"{P}/agent/a1/reps")
    assert allowed(acl, "agent-door", "write", f"{P}/agent/door/visits")
    assert allowed(acl, "agent-a1", "write", f"{P}/agent/a1/batch")
    assert not allowed(acl, "agent-a1", "write", f"{P}/agent/door/batch")
    for shared in ("sets", "reps", "visits", "stats"):
        assert not allowed(acl, "agent-a1", "write", f"{P}/{shared}")
        assert not allowed(acl, "agent-door", "write", f"{P}/{shared}")
    assert not allowed(acl, "agent-a1", "write", f"{P}/agent/door/visits")
    assert allowed(acl, "hub", "read", f"{P}/agent/a1/sets")


def test_no_rule_for_anonymous_clients_and_no_patterns():
    acl = build_acl(plan_from_config(config(a1=station_agent())))
    assert "pattern" not in acl and "%c" not in acl and "%u" not in acl
    rules(acl)  # asserts no topic line comes before the first user
    assert "user agent-a1" in acl  # the default account name when the config has none


@pytest.mark.parametrize(("hub", "agents", "message"), [
    ("hub", {"a1": "hub"}, "used by two accounts"),
    ("hub", {"a1": "x", "a2": "x"}, "used by two accounts"),
    ("hub", {"a1": "has space"}, "without spaces"),
    ("h:ub", {}, "without spaces, ':'"),
    ("hub", {"a1": "bad/name"}, "'/'"),
])
def test_bad_account_names_are_refused(hub, agents, message):
    with pytest.raises(ValueError, match=message):
        AclPlan(Topics(P), hub, tuple(AgentAccount(u, a) for a, u in agents.items()))


def test_shipped_gym_example_gets_one_account_per_agent():
    from replens.config import load_config
    from tests.unit.test_config import EXAMPLE_ENV

    plan = plan_from_config(load_config(ROOT / "config" / "gym.yaml", env=EXAMPLE_ENV))
    assert [a.username for a in plan.agents] == ["agent-cables", "agent-machines", "agent-racks"]


# --- replens mqtt credentials ----------------------------------------------------------------------------

def write_config(tmp_path: Path, agents: dict) -> Path:
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "mqtt": {"host": "broker.gym.lan", "username": "hub",
                                                          "password": "{REPLENS_MQTT_HUB_PASSWORD}"},
                                    "agents": agents}))
    return path


def racks_agent() -> dict:
    return {**station_agent("agent-racks"), "mqtt_password": "{REPLENS_MQTT_RACKS_PASSWORD}"}


def test_credentials_files_modes_and_passwords(tmp_path, capsys):
    path = write_config(tmp_path, {"racks": racks_agent(), "cables": station_agent()})
    out = tmp_path / "creds"
    assert generate_credentials(path, out, force=False, hostnames=["10.0.0.5"], homeassistant=True,
                                new_ca=False) == 0
    printed = capsys.readouterr()
    env = dict(line.split("=", 1) for line in (out / ENV_FILE).read_text().splitlines())
    assert sorted(env) == ["REPLENS_MQTT_AGENT_CABLES_PASSWORD", "REPLENS_MQTT_HOMEASSISTANT_PASSWORD",
                           "REPLENS_MQTT_HUB_PASSWORD", "REPLENS_MQTT_RACKS_PASSWORD"]
    assert len(set(env.values())) == 4 and all(len(v) >= 32 for v in env.values())
    for value in env.values():
        assert value not in printed.out + printed.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "secrets").stat().st_mode) == 0o700
    for name in ("passwd", "acl", "ca.key", "server.key", ENV_FILE, "secrets/REPLENS_MQTT_RACKS_PASSWORD"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert (out / "secrets/REPLENS_MQTT_RACKS_PASSWORD").read_text() == env["REPLENS_MQTT_RACKS_PASSWORD"] + "\n"
    # Mosquitto's $7$ lines verify against the generated passwords.
    for line in (out / "passwd").read_text().splitlines():
        user, _, rest = line.partition(":")
        _, kind, iterations, salt, digest = rest.split("$")
        secret = {"hub": "REPLENS_MQTT_HUB_PASSWORD", "agent-racks": "REPLENS_MQTT_RACKS_PASSWORD",
                  "agent-cables": "REPLENS_MQTT_AGENT_CABLES_PASSWORD",
                  "homeassistant": "REPLENS_MQTT_HOMEASSISTANT_PASSWORD"}[user]
        assert kind == "7"
        assert hashlib.pbkdf2_hmac("sha512", env[secret].encode(), base64.b64decode(salt),
                                   int(iterations)) == base64.b64decode(digest)
    # The agent without an account of its own is named, with the lines to add; nothing secret is printed.
    assert "agents.cables: it would log in as the hub" in printed.err
    assert 'mqtt_password: "{REPLENS_MQTT_AGENT_CABLES_PASSWORD}"' in printed.err
    server = x509.load_pem_x509_certificate((out / "server.crt").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"broker.gym.lan", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert "10.0.0.5" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def test_credentials_refuse_to_overwrite_and_force_keeps_the_ca(tmp_path):
    path = write_config(tmp_path, {"racks": racks_agent()})
    out = tmp_path / "creds"

    def generate(*, force: bool, new_ca: bool) -> int:
        return generate_credentials(path, out, force=force, new_ca=new_ca, hostnames=[], homeassistant=False)

    generate(force=False, new_ca=False)
    first = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert "REPLENS_MQTT_HOMEASSISTANT_PASSWORD" not in first
    with pytest.raises(RepLensError, match="--force"):
        generate(force=False, new_ca=False)
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    generate(force=True, new_ca=False)
    assert (out / "ca.crt").read_bytes() == first["ca.crt"] and (out / "ca.key").read_bytes() == first["ca.key"]
    assert (out / "server.key").read_bytes() != first["server.key"]
    assert (out / ENV_FILE).read_bytes() != first[ENV_FILE]
    generate(force=True, new_ca=True)
    assert (out / "ca.crt").read_bytes() != first["ca.crt"]


def test_two_accounts_sharing_a_secret_are_refused(tmp_path):
    agent = {**station_agent("agent-racks"), "mqtt_password": "{REPLENS_MQTT_HUB_PASSWORD}"}
    with pytest.raises(ConfigError, match="REPLENS_MQTT_HUB_PASSWORD"):
        generate_credentials(write_config(tmp_path, {"racks": agent}), tmp_path / "c", force=False,
                             hostnames=[], homeassistant=False, new_ca=False)


def test_cli_prints_paths_only(tmp_path):
    path = write_config(tmp_path, {"racks": racks_agent()})
    result = subprocess.run([sys.executable, "-m", "replens.cli.main", "mqtt", "credentials", "--config", str(path),
                             "--dir", str(tmp_path / "creds")], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "creds" / "secrets" / "REPLENS_MQTT_RACKS_PASSWORD") in result.stdout
    for line in (tmp_path / "creds" / ENV_FILE).read_text().splitlines():
        assert line.split("=", 1)[1] not in result.stdout + result.stderr
    again = subprocess.run([sys.executable, "-m", "replens.cli.main", "mqtt", "credentials", "--config", str(path),
                            "--dir", str(tmp_path / "creds")], capture_output=True, text=True, timeout=60,
                           check=False)
    assert again.returncode == 1 and "--force" in again.stderr
