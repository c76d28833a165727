"""The password file `replens stack init` writes is accepted by a real Mosquitto."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.mosquitto_passwd import password_line

pytestmark = pytest.mark.integration


def connect_result(host: str, port: int, username: str | None, password: str | None) -> bool:
    """True when the broker accepted the CONNECT."""
    outcome: dict[str, bool] = {}
    done = threading.Event()

    def on_connect(_c, _u, _f, reason, _p):
        outcome["ok"] = not reason.is_failure
        done.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.on_connect = on_connect
    if username is not None:
        client.username_pw_set(username, password)
    client.connect(host, port)
    client.loop_start()
    try:
        assert done.wait(5), "no CONNACK from the broker"
    finally:
        client.loop_stop()
        client.disconnect()
    return outcome["ok"]


def test_generated_password_file_with_real_mosquitto(tmp_path, make_mosquitto):
    passwd = tmp_path / "passwd"
    passwd.write_text(password_line("hub", "correct horse") + "\n" + password_line("agent-1", "battery") + "\n")
    passwd.chmod(0o600)
    broker = make_mosquitto(extra_config=["allow_anonymous false", f"password_file {passwd}"])
    assert connect_result(broker.host, broker.port, "hub", "correct horse")
    assert connect_result(broker.host, broker.port, "agent-1", "battery")
    assert not connect_result(broker.host, broker.port, "hub", "wrong")
    assert not connect_result(broker.host, broker.port, None, None)
