"""Broker security with the files `replens mqtt credentials` writes, on a real Mosquitto: accounts, ACL, TLS.

The broker has the helper's plain listener and a TLS listener; the password file and the ACL are global
(``per_listener_settings false``), so both listeners refuse anonymous clients and apply the ACL.
What a fenced account publishes is observed from the hub's account, subscribed to everything under the
prefix: an allowed publish sent last, in the same session, proves the denied ones before it were dropped
(one client's QoS 1 messages arrive in order).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from replens.cli.demo import sample_clip
from replens.cli.mqtt_credentials import ENV_FILE, generate_credentials
from replens.config import load_config
from replens.mqtt_certs import make_ca
from tests.servers import Mosquitto, free_port

pytestmark = pytest.mark.integration
TIMEOUT_S = 5.0


@dataclass
class SecureBroker:
    broker: Mosquitto
    tls_port: int
    creds: Path
    prefix: str
    config_path: Path
    secrets: dict[str, str]  # REPLENS_* name -> password

    def password(self, username: str) -> str:
        name = {"hub": "REPLENS_MQTT_HUB_PASSWORD", "agent-a1": "REPLENS_MQTT_A1_PASSWORD",
                "agent-a2": "REPLENS_MQTT_A2_PASSWORD", "homeassistant": "REPLENS_MQTT_HOMEASSISTANT_PASSWORD"}
        return self.secrets[name[username]]

    def session(self, username: str, password: str | None = None) -> Session:
        session = Session(username, self.password(username) if password is None else password)
        session.connect(self.broker.host, self.tls_port, self.creds / "ca.crt")
        assert session.accepted, f"{username} refused: {session.outcome}"
        return session


class Session:
    """One paho client over TLS that records its CONNACK and every message it receives."""

    def __init__(self, username: str | None, password: str | None) -> None:
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=f"test-{username}-{uuid.uuid4().hex[:6]}")
        if username is not None:
            self.client.username_pw_set(username, password)
        self.outcome = "no CONNACK"
        self.accepted = False
        self.messages: list[tuple[str, bytes]] = []
        self._connack = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.accepted = not reason.is_failure
        self.outcome = str(reason)
        self._connack.set()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append((message.topic, bytes(message.payload)))
            self._arrived.notify_all()

    def connect(self, host: str, port: int, ca: Path | None, *, tls: bool = True) -> None:
        if tls:
            self.client.tls_set(ca_certs=str(ca) if ca else None)
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        self._connack.wait(TIMEOUT_S)

    def subscribe(self, *topics: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert done.wait(TIMEOUT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes = b"x", *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(TIMEOUT_S)

    def wait_for(self, topic: str) -> list[tuple[str, bytes]]:
        """Wait until ``topic`` arrives; return every message so far."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: any(t == topic for t, _ in self.messages), TIMEOUT_S), (
                f"{topic} never arrived; got {self.messages}")
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def agent_section(agent_id: str) -> dict[str, Any]:
    clip = sample_clip()
    return {
        "mqtt_username": f"agent-{agent_id}",
        "mqtt_password": f"{{REPLENS_MQTT_{agent_id.upper()}_PASSWORD}}",
        "source": {"url": str(clip.path), "realtime": False},
        "stations": {"stack": {"exercise": "lat_pulldown",
                               "tracker": {"type": "stack", "roi": clip.truth["roi"], "axis": "vertical"},
                               "counter": {"set_end_rest_s": 5}}},
    }


@pytest.fixture
def secure(tmp_path, make_mosquitto) -> SecureBroker:
    tls_port = free_port()
    prefix = f"t{uuid.uuid4().hex[:8]}"
    creds = tmp_path / "creds"
    config_path = tmp_path / "replens.yaml"
    config_path.write_text(yaml.safe_dump({
        "version": 1,
        "data_dir": str(tmp_path / "data"),
        "mqtt": {"host": "127.0.0.1", "port": tls_port, "username": "hub", "password": "{REPLENS_MQTT_HUB_PASSWORD}",
                 "tls": {"ca_cert": str(creds / "ca.crt")}, "prefix": prefix, "keepalive_s": 5},
        "hub": {"stats_interval_s": 1, "ack_interval_s": 0.1},
        "homeassistant": {"republish_delay_max_s": 0},
        "agents": {"a1": agent_section("a1"), "a2": agent_section("a2")},
    }))
    generate_credentials(config_path, creds, force=False, hostnames=[], homeassistant=True, new_ca=False)
    broker = make_mosquitto(extra_config=[
        "allow_anonymous false",
        f"password_file {creds / 'passwd'}",
        f"acl_file {creds / 'acl'}",
        f"listener {tls_port} 127.0.0.1",
        f"cafile {creds / 'ca.crt'}",
        f"certfile {creds / 'server.crt'}",
        f"keyfile {creds / 'server.key'}",
    ])
    secrets = dict(line.split("=", 1) for line in (creds / ENV_FILE).read_text().splitlines())
    return SecureBroker(broker, tls_port, creds, prefix, config_path, secrets)


def outcome(secure: SecureBroker, username: str | None, password: str | None, *, port: int | None = None,
            ca: Path | None = None, tls: bool = True) -> str:
    session = Session(username, password)
    try:
        session.connect(secure.broker.host, port or secure.tls_port, ca, tls=tls)
    except (ssl.SSLError, OSError) as err:
        return f"error: {type(err).__name__}"
    finally:
        session.close()
    return "accepted" if session.accepted else session.outcome


def test_anonymous_and_wrong_passwords_are_refused(secure):
    ca = secure.creds / "ca.crt"
    assert outcome(secure, "hub", secure.password("hub"), ca=ca) == "accepted"
    assert outcome(secure, None, None, ca=ca) == "Not authorized"
    assert outcome(secure, "hub", "wrong", ca=ca) == "Not authorized"
    assert outcome(secure, "agent-a1", secure.password("agent-a2"), ca=ca) == "Not authorized"
    assert outcome(secure, "nobody", secure.password("hub"), ca=ca) == "Not authorized"
    # The plain listener shares the password file: no anonymous way in there either.
    assert outcome(secure, None, None, port=secure.broker.port, tls=False) == "Not authorized"


def test_tls_listener_requires_tls_and_the_ca(secure):
    ca = secure.creds / "ca.crt"
    other_ca = secure.creds.parent / "other-ca.crt"
    other_ca.write_bytes(make_ca("Someone else's CA").cert_pem)
    assert outcome(secure, "hub", secure.password("hub"), ca=ca) == "accepted"
    assert outcome(secure, "hub", secure.password("hub"), tls=False) == "no CONNACK"  # plain TCP to the TLS port
    assert outcome(secure, "hub", secure.password("hub"), ca=other_ca) == "error: SSLCertVerificationError"
    assert outcome(secure, "hub", secure.password("hub"), ca=None) == "error: SSLCertVerificationError"


def test_an_agent_cannot_publish_as_another_agent_or_as_the_hub(secure):
    p = secure.prefix
    hub = secure.session("hub")
    a1 = secure.session("agent-a1")
    try:
        hub.subscribe(f"{p}/#", "homeassistant/#")
        for topic in (f"{p}/agent/a2/state", f"{p}/agent/a2/available", f"{p}/agent/a2/stats",
                      f"{p}/agent/a2/ack", f"{p}/agent/a1/ack", f"{p}/agent/a2/command", f"{p}/hub/available",
                      f"{p}/hub/sets", f"{p}/hub/claim", f"{p}/station/a2/stack/last_set",
                      f"{p}/member/m1/state", f"homeassistant/sensor/{p}/x/config", f"{p}/visits",
                      f"{p}/agent/a2/sets", f"{p}/agent/a2/reps", f"{p}/agent/a2/batch", f"{p}/sets",
                      f"{p}/reps", f"{p}/stats"):
            a1.publish(topic, b"forged", retain=topic.endswith(("state", "available")))
        a1.publish(f"{p}/agent/a1/sets", b"my set")
        a1.publish(f"{p}/agent/a1/batch", b"my sets")
        a1.publish(f"{p}/agent/a1/state", b"mine", retain=True)
        assert hub.wait_for(f"{p}/agent/a1/state") == [(f"{p}/agent/a1/sets", b"my set"),
                                                      (f"{p}/agent/a1/batch", b"my sets"),
                                                      (f"{p}/agent/a1/state", b"mine")]
    finally:
        a1.close()
        hub.close()
    late = secure.session("hub")  # nothing forged was retained either
    try:
        late.subscribe(f"{p}/#")
        assert late.wait_for(f"{p}/agent/a1/state") == [(f"{p}/agent/a1/state", b"mine")]
    finally:
        late.close()


def test_an_agent_reads_only_its_own_acks_and_commands(secure):
    p = secure.prefix
    hub = secure.session("hub")
    ha = secure.session("homeassistant")
    a1 = secure.session("agent-a1")
    a2 = secure.session("agent-a2")
    try:
        # Mosquitto 2.0 grants the SUBACK and filters each message by the ACL on delivery.
        a1.subscribe(f"{p}/#", f"{p}/agent/a2/ack", f"{p}/agent/a2/command")
        a2.publish(f"{p}/sets", b"a2's set")  # agents write events, but never read each other's
        hub.publish(f"{p}/agent/a2/ack", b"a2's ack")
        ha.publish(f"{p}/agent/a2/command", b"a2's command")
        hub.publish(f"{p}/agent/a1/ack", b"a1's ack")
        ha.publish(f"{p}/agent/a1/command", b"a1's command")
        a1.wait_for(f"{p}/agent/a1/command")
        a1.wait_for(f"{p}/agent/a1/ack")
        assert sorted(a1.messages) == [(f"{p}/agent/a1/ack", b"a1's ack"),
                                       (f"{p}/agent/a1/command", b"a1's command")]
    finally:
        for session in (a1, a2, ha, hub):
            session.close()


def test_home_assistant_sends_commands_but_cannot_forge_agents_or_the_hub(secure):
    p = secure.prefix
    hub = secure.session("hub")
    ha = secure.session("homeassistant")
    try:
        hub.subscribe(f"{p}/#", "homeassistant/status")
        for topic in (f"{p}/agent/a1/state", f"{p}/hub/available", f"{p}/sets", f"{p}/agent/a1/ack"):
            ha.publish(topic, b"forged")
        ha.publish(f"{p}/agent/a1/command", b"pause")
        ha.publish("homeassistant/status", b"online")
        hub.wait_for("homeassistant/status")
        assert sorted(hub.messages) == [("homeassistant/status", b"online"), (f"{p}/agent/a1/command", b"pause")]
    finally:
        ha.close()
        hub.close()


def test_hub_and_agent_over_tls_with_the_acl_never_log_a_password(secure, monkeypatch, caplog, capfd):
    """The real hub and a real agent, DEBUG logging, passwords from the environment: none reaches a log."""
    from replens.device_agent.app import Agent
    from replens.hub.runner import HubThread

    for name, value in secure.secrets.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    config = load_config(secure.config_path)
    hub_thread = HubThread(config)
    hub_thread.start()
    try:
        agent = Agent("a1", config.agents["a1"], config.agent_mqtt("a1"), config.agent_data_dir("a1"))
        summary = agent.run(drain_timeout_s=30)
        assert summary.drained  # every set reached the hub through the ACL and the hub's ack came back
    finally:
        hub_thread.stop()
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    printed = "".join(capfd.readouterr())
    # The logs are there and verbose: paho's CONNECT line names the flags, with p1 meaning "has a password".
    assert any(r.levelno == logging.DEBUG and "Sending CONNECT (u1, p1" in r.getMessage() for r in caplog.records)
    for name, value in secure.secrets.items():
        assert value not in logged, f"{name} appears in the logs"
        assert value not in printed, f"{name} appears on stdout or stderr"


def test_the_hub_stops_reading_a_tls_socket_when_behind_and_loses_nothing(secure, monkeypatch):
    """Backpressure over TLS, with the ACL: bytes TLS already decrypted must still be read after a pause."""
    from tests.integration.harness import flood_a_slow_hub, slow_journal

    for name, value in secure.secrets.items():
        monkeypatch.setenv(name, value)
    slow_journal(monkeypatch)
    config = load_config(secure.config_path)
    flood_a_slow_hub(config, secure.config_path.parent / "agent", agent_mqtt=config.agent_mqtt("a1"))


def test_an_acl_from_before_batches_delays_events_but_loses_none(secure, monkeypatch, caplog):
    """The broker drops a batch its ACL does not allow, silently; the resend goes one event per message."""
    from replens.hub.runner import HubThread
    from tests.integration.harness import Producer, wait_for

    acl = secure.creds / "acl"
    acl.write_text("".join(line for line in acl.read_text().splitlines(keepends=True) if "/batch" not in line))
    secure.broker.restart()
    for name, value in secure.secrets.items():
        monkeypatch.setenv(name, value)
    config = load_config(secure.config_path)
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "a1", secure.config_path.parent / "agent", mqtt=config.agent_mqtt("a1"))
    producer.produce_set(reps=3)  # 7 events waiting: they leave as one batch, which the old ACL refuses
    producer.start()
    try:
        time.sleep(2.0)
        assert hub.journal.counts()["events"] == 0  # the batch never arrived
        wait_for(lambda: producer.outbox.depth() == 0, 20, "the resend, one event per message")
        assert hub.journal.counts()["events"] == 7
        assert "may predate batches" in caplog.text
    finally:
        producer.stop()
        hub_thread.stop()
