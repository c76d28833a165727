"""The hub's MQTT read-ahead serves paho's small reads from one large recv, and says what is buffered."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from replens.hub.readahead import ReadAheadSocket, read_ahead


def test_small_reads_come_from_one_recv_and_pending_counts_the_rest() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
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


def test_read_ahead_wraps_paho_socket_once_and_leaves_unknown_clients_alone() -> None:
    """It relies on aiomqtt's and paho's private attributes: anything unexpected only costs speed."""
    left, right = socket.socketpair()
    with left, right:
        paho = SimpleNamespace(_sock=right)
        client = SimpleNamespace(_client=paho)
        assert read_ahead(client)  # type: ignore[arg-type]
        assert isinstance(paho._sock, ReadAheadSocket)
        assert not read_ahead(client)  # type: ignore[arg-type]  # already wrapped: not twice
        assert not read_ahead(SimpleNamespace())  # type: ignore[arg-type]  # another aiomqtt
        assert not read_ahead(SimpleNamespace(_client=SimpleNamespace(_sock=None)))  # type: ignore[arg-type]
