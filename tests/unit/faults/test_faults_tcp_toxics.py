"""Toxiproxy's TCP toxics through a real hop: the observable effect of each."""

from __future__ import annotations

import socket
import time

import pytest
from conftest import Api, TcpEcho, port_of


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_timeout_drops_data_then_closes(api: Api, tcp_echo: TcpEcho) -> None:
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("t", type="timeout", attributes={"timeout": 200})
    with _connect(port) as sock:
        start = time.monotonic()
        sock.sendall(b"hello")
        assert _read_until_eof(sock) == b""
        assert 0.18 <= time.monotonic() - start < 1.5


def test_limit_data_closes_after_the_limit(api: Api, tcp_echo: TcpEcho) -> None:
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("t", type="limit_data", attributes={"bytes": 10})
    with _connect(port) as sock:
        sock.sendall(b"0123456789abcdefghij")
        assert _read_until_eof(sock) == b"0123456789"


def test_slicer_delivers_everything_in_small_pieces(api: Api, tcp_echo: TcpEcho) -> None:
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic(
        "t", type="slicer", attributes={"average_size": 3, "size_variation": 1, "delay": 2000}
    )
    with _connect(port) as sock:
        payload = bytes(range(60))
        start = time.monotonic()
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += sock.recv(65536)
        assert got == payload
        assert time.monotonic() - start >= 0.02  # ~20 slices, 2 ms apart


def test_slow_close_delays_the_fin(api: Api, tcp_echo: TcpEcho) -> None:
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("t", type="slow_close", attributes={"delay": 300})
    with _connect(port) as sock:
        sock.sendall(b"bye")
        assert sock.recv(10) == b"bye"
        start = time.monotonic()
        sock.shutdown(socket.SHUT_WR)  # echo server sees EOF and closes; its FIN is held
        assert _read_until_eof(sock) == b""
        assert time.monotonic() - start >= 0.28


def test_toxicity_zero_leaves_connections_alone(api: Api, tcp_echo: TcpEcho) -> None:
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("t", type="timeout", toxicity=0.0, attributes={"timeout": 0})
    with _connect(port) as sock:
        sock.sendall(b"ok")
        assert sock.recv(10) == b"ok"


def test_reset_peer_also_fires_on_a_half_close(api: Api, tcp_echo: TcpEcho) -> None:
    """Toxiproxy's reset_peer starts its timer on the first read, end of stream included."""
    port = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("t", type="reset_peer", stream="upstream", attributes={"timeout": 100})
    with _connect(port) as sock:
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        with pytest.raises(ConnectionResetError):
            _read_until_eof(sock)
        assert time.monotonic() - start >= 0.08
