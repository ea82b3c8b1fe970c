"""A UDP hop under a flood of sources keeps carrying calls (issue 13: 12,000 sources).

One datagram from each of 12,000 loopback source addresses (127.10.x.y) at about
3,000/s goes through one UDP hop whose upstream, like a STUN server, answers only
real requests. Meanwhile and for two seconds after, "calls" (a fresh client socket
each, retransmitting its request every 200 ms) must all get their answer. The hop
must stay within its flow bound (``max_flows``) in open files and say in its log
that it evicted flows.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import Api, port_of

from harness.faults.api.launcher import HopServer

SOURCES = 12_000
RATE = 3_000  # datagrams per second
MAX_FLOWS = 2_048


class AnswersCallsOnly:
    """Echoes datagrams that start with CALL; ignores the rest (flood garbage)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.flood_seen = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            if data.startswith(b"CALL"):
                self.sock.sendto(data, peer)
            else:
                self.flood_seen += 1

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def upstream() -> Iterator[AnswersCallsOnly]:
    server = AnswersCallsOnly()
    yield server
    server.close()


def _flood(port: int, done: threading.Event) -> None:
    start = time.monotonic()
    for index in range(SOURCES):
        source = f"127.10.{index // 250}.{1 + index % 250}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.sendto(b"\x00\x01garbage", ("127.0.0.1", port))
        lag = start + (index + 1) / RATE - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    done.set()


def _call(port: int, number: int, deadline_s: float = 5.0) -> float | None:
    """Connect time in ms, or None when no answer came within ``deadline_s``."""
    payload = b"CALL%d" % number
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        start = time.monotonic()
        while time.monotonic() - start < deadline_s:
            sock.sendto(payload, ("127.0.0.1", port))
            try:
                data, _ = sock.recvfrom(2048)
            except TimeoutError:
                continue
            if data == payload:
                return (time.monotonic() - start) * 1000
    return None


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
def test_calls_connect_during_and_after_a_12000_source_flood(
    hop: HopServer, api: Api, upstream: AnswersCallsOnly
) -> None:
    proxy = api.proxy("edge", upstream.address, protocol="udp", max_flows=MAX_FLOWS)
    port = port_of(proxy)
    files_before = _open_files(hop.pid)
    done = threading.Event()
    flood = threading.Thread(target=_flood, args=(port, done), daemon=True)
    flood.start()
    connects: list[float | None] = []
    peak_files = 0
    after: float | None = None
    number = 0
    while after is None or time.monotonic() - after < 2.0:
        connects.append(_call(port, number))
        number += 1
        peak_files = max(peak_files, _open_files(hop.pid))
        if done.is_set() and after is None:
            after = time.monotonic()
        time.sleep(0.05)
    flood.join()
    failed = [i for i, ms in enumerate(connects) if ms is None]
    times = sorted(ms for ms in connects if ms is not None)
    assert upstream.flood_seen > SOURCES // 2, "the flood did not reach the upstream"
    assert not failed, f"{len(failed)} of {len(connects)} calls got no answer: {failed[:10]}"
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"{len(connects)} calls, median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")
    # Bounded: at most MAX_FLOWS upstream sockets, not one per source.
    assert peak_files - files_before <= MAX_FLOWS + 16
    assert len(api.get("/proxies/edge/flows").json()) <= MAX_FLOWS
    assert "flow table full" in hop.stderr_tail(200)
