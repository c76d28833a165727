"""The hub's MQTT read-ahead serves paho's small reads from one large recv, and says what is buffered."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from replens.hub.readahead import ReadAheadSocket, read_ahead


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(sender, receiver): the receiver non-blocking, as paho's socket is."""
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        yield left, right


def test_small_reads_come_from_one_recv_and_pending_counts_the_rest(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(b"\x30\x05hello\x40\x02\x00\x01")
    sock = ReadAheadSocket(right)
    assert sock.recv(1) == b"\x30"
    assert sock.pending() == 10
    assert sock.recv(1) == b"\x05"
    assert sock.recv(2048) == b"hello\x40\x02\x00\x01"
    assert sock.pending() == 0
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    assert sock.fileno() == right.fileno()  # everything else passes through
    left.close()
    assert sock.recv(1) == b""  # end of stream as from the socket itself


def test_read_ahead_wraps_paho_socket_once_and_leaves_unknown_clients_alone(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """It relies on aiomqtt's and paho's private attributes: anything unexpected only costs speed."""
    paho = SimpleNamespace(_sock=pair[1])
    client = SimpleNamespace(_client=paho)
    assert read_ahead(client)  # type: ignore[arg-type]
    assert isinstance(paho._sock, ReadAheadSocket)
    assert not read_ahead(client)  # type: ignore[arg-type]  # already wrapped: not twice
    assert not read_ahead(SimpleNamespace())  # type: ignore[arg-type]  # another aiomqtt
    assert not read_ahead(SimpleNamespace(_client=SimpleNamespace(_sock=None)))  # type: ignore[arg-type]


def test_while_the_gate_holds_nothing_more_is_read_from_the_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    left.sendall(b"ab")
    sock = ReadAheadSocket(right)
    holding = [True]
    sock.hold = lambda: holding[0]
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    assert sock.pending() == 0  # aiomqtt's reader stops asking
    holding[0] = False
    assert sock.recv(1) == b"a"
    holding[0] = True
    assert sock.pending() == 1 and sock.recv(1) == b"b"  # what is already buffered is still served


def test_read_gate_pauses_after_a_read_when_full_and_resumes_with_buffered_bytes(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    import asyncio

    from replens.hub.read_gate import ReadGate

    left, right = pair
    loop = asyncio.new_event_loop()
    try:
        sock = ReadAheadSocket(right)
        reads: list[bytes] = []

        def aiomqtt_reader() -> None:
            with contextlib.suppress(BlockingIOError):
                reads.append(sock.recv(1))

        loop.add_reader(right.fileno(), aiomqtt_reader)
        full = [False]
        pauses: list[int] = []
        gate = ReadGate(SimpleNamespace(_client=SimpleNamespace(_sock=sock)), loop,  # type: ignore[arg-type]
                        full=lambda: full[0], on_pause=lambda: pauses.append(1))
        assert gate.usable and sock.hold is not None
        left.sendall(b"abc")
        loop.run_until_complete(asyncio.sleep(0.05))
        assert reads == [b"a"] and not gate.paused  # one recv took all three bytes into the buffer
        full[0] = True
        left.sendall(b"d")
        loop.run_until_complete(asyncio.sleep(0.05))
        assert gate.paused and pauses == [1] and reads == [b"a", b"b"]  # paused after that read
        left.sendall(b"e")
        loop.run_until_complete(asyncio.sleep(0.05))
        assert reads == [b"a", b"b"]  # readable, but paused
        assert right.recv(10) == b"de"  # as when TLS has already taken the bytes off the socket
        full[0] = False
        gate.resume()
        loop.run_until_complete(asyncio.sleep(0.05))
        assert reads == [b"a", b"b", b"c"]  # the buffered byte was read although the socket was not readable
        gate.close()
        assert sock.hold is None and not gate.usable
        gate.resume()  # after close: never touches the descriptor again
        gate._read()  # nor does a read that resume() had scheduled before the close
    finally:
        loop.close()


def test_read_gate_leaves_clients_it_does_not_understand_alone() -> None:
    import asyncio

    from replens.hub.read_gate import ReadGate

    loop = asyncio.new_event_loop()
    try:
        gate = ReadGate(SimpleNamespace(), loop, full=lambda: True)  # type: ignore[arg-type]
        assert not gate.usable
        gate.resume()
    finally:
        loop.close()


def test_hub_warns_once_and_reports_when_backpressure_is_off(tmp_path, caplog) -> None:
    """A private attribute the gate needs changed (an upgrade): one WARNING, and the stats say so, not a DEBUG line."""
    import asyncio
    import logging

    from replens.config import load_config
    from replens.hub.app import Hub

    path = tmp_path / "replens.yaml"
    path.write_text(f"version: 1\ndata_dir: {tmp_path / 'data'}\n")
    hub = Hub(load_config(path, env={}))

    async def reconnect_twice() -> None:
        for _ in range(2):
            assert hub.mqtt.open_gate(SimpleNamespace()).unavailable is not None  # type: ignore[arg-type]

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(reconnect_twice())
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "backpressure is off" in r.message]
        assert len(warnings) == 1
        assert "AttributeError" in warnings[0].getMessage()
        assert hub.stats().counters["read_gate_unavailable"] == 1
    finally:
        hub.homeassistant.close()
        hub.journal.close()
