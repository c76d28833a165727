"""The test servers themselves: they start, restart on the same port, and (InfluxDB) keep their data."""

from __future__ import annotations

import socket

import pytest

from tests.servers import InfluxDB1, Mosquitto, VictoriaMetrics, http_request, port_open

pytestmark = pytest.mark.integration


def _mqtt_connack(host: str, port: int) -> bytes:
    """Send a bare MQTT 3.1.1 CONNECT and return the CONNACK, to prove a real broker answers."""
    client_id = b"probe"
    variable = b"\x00\x04MQTT\x04\x02\x00\x0a"
    payload = len(client_id).to_bytes(2, "big") + client_id
    packet = b"\x10" + bytes([len(variable) + len(payload)]) + variable + payload
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(packet)
        return sock.recv(4)


def test_mosquitto_restarts_on_same_port(mosquitto: Mosquitto) -> None:
    port = mosquitto.port
    assert _mqtt_connack(mosquitto.host, port) == b"\x20\x02\x00\x00"
    mosquitto.kill()
    assert not port_open(mosquitto.host, port)
    mosquitto.restart()
    assert mosquitto.port == port
    assert _mqtt_connack(mosquitto.host, port) == b"\x20\x02\x00\x00"
    assert "mosquitto version" in mosquitto.log_path.read_text()


def test_influxdb1_keeps_data_across_restart_and_crash(influx_db: tuple[InfluxDB1, str]) -> None:
    server, db = influx_db
    port = server.port
    status, body = http_request("POST", f"{server.url}/write?db={db}&precision=s", data=b"probe value=42 1700000000")
    assert status == 204, body
    server.restart()
    assert server.port == port
    assert server.rows("SELECT value FROM probe", db) == [{"time": 1_700_000_000_000_000_000, "value": 42}]
    server.kill()
    server.restart()
    assert server.rows("SELECT value FROM probe", db) == [{"time": 1_700_000_000_000_000_000, "value": 42}]


def test_victoria_restarts_on_same_port(victoria: VictoriaMetrics) -> None:
    port = victoria.port
    status, _ = http_request("POST", f"{victoria.url}/write", data=b"vmprobe value=7 1700000000000000000")
    assert status == 204
    try:
        victoria.stop()
        assert not port_open(victoria.host, port)
    finally:
        victoria.restart()
    assert victoria.port == port
    [series] = victoria.export('{__name__="vmprobe_value"}')
    assert series["values"] == [7]
    assert series["timestamps"] == [1_700_000_000_000]
