"""Bytes a client sends before the hop's upstream connection exists are held, in order.

The hop must not rely on ``pause_reading()`` inside ``connection_made`` (Python 3.11.2,
Debian 12's python3, ignores it). Here the upstream is made slow to connect on purpose:
its accept queue is full, so the kernel drops the hop's SYN and the hop's connect
succeeds only on the SYN retry about a second later. Everything the client sent in
that second must reach the upstream, in order.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import Api, port_of


class SlowAcceptUpstream:
    """A listener whose accept queue is full for ``hold`` seconds, then an echo server."""

    def __init__(self, hold: float) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)  # one queued connection fills it
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.filler = socket.create_connection(self.listener.getsockname())
        self.received = b""
        self.accepted_at = 0.0
        self._hold = hold
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        time.sleep(self._hold)
        first, _ = self.listener.accept()  # the filler; frees the queue
        first.close()
        self.listener.settimeout(10)
        conn, _ = self.listener.accept()
        self.accepted_at = time.monotonic()
        with conn:
            while chunk := conn.recv(65536):
                self.received += chunk
            conn.sendall(b"done")

    def close(self) -> None:
        self.filler.close()
        self.listener.close()


def test_bytes_sent_while_the_hop_dials_arrive_in_order(api: Api) -> None:
    upstream = SlowAcceptUpstream(hold=0.3)
    try:
        port = port_of(api.proxy("early", upstream.address))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            sent_at = time.monotonic()
            for piece in (b"PING 1\r\n", b"PING 2\r\n", b"PING 3\r\n"):
                client.sendall(piece)
                time.sleep(0.05)
            client.shutdown(socket.SHUT_WR)  # the EOF is held behind the data, too
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        upstream.thread.join(10)
        # The upstream really was unreachable while the client sent (else this proves nothing).
        assert upstream.accepted_at - sent_at > 0.3
        assert upstream.received == b"PING 1\r\nPING 2\r\nPING 3\r\n"
        assert reply == b"done"
    finally:
        upstream.close()


@pytest.fixture
def redis_port() -> Iterator[int]:
    """A throwaway redis-server on 127.0.0.1 (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_redis_pings_sent_at_once_through_a_hop_are_answered(api: Api, redis_port: int) -> None:
    """The case that failed on 3.11.2: a client that writes as soon as it is connected."""
    port = port_of(api.proxy("redis", f"127.0.0.1:{redis_port}"))
    for _ in range(6):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"PING\r\n")
            assert client.recv(64) == b"+PONG\r\n"
