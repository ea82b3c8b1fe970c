"""Overhead of one fault hop with no toxic: added latency (TCP, UDP) and datagrams/s.

The hop runs in its own process (as in a stack). The measuring side is one thread
with plain blocking sockets acting as both client and server, so no thread hand-off
adds noise; direct and hop round trips alternate so both see the same load.
Added latency is per *round trip* (two traversals of the hop), which is conservative.
"""

from __future__ import annotations

import json
import select
import socket
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from harness.faults.api.launcher import HopServer

TOXIPROXY_FIGURE_MS = 0.3  # Toxiproxy's own per-request figure, for the table
TARGET_ADDED_P99_MS = 0.2  # DESIGN section 9
TARGET_DATAGRAMS_PER_S = 100_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class PathLatency:
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class HopBench:
    samples: int
    udp_direct: PathLatency
    udp_hop: PathLatency
    tcp_direct: PathLatency
    tcp_hop: PathLatency
    udp_datagrams_per_s: float

    @property
    def udp_added(self) -> PathLatency:
        return PathLatency(
            self.udp_hop.p50_ms - self.udp_direct.p50_ms,
            self.udp_hop.p99_ms - self.udp_direct.p99_ms,
        )

    @property
    def tcp_added(self) -> PathLatency:
        return PathLatency(
            self.tcp_hop.p50_ms - self.tcp_direct.p50_ms,
            self.tcp_hop.p99_ms - self.tcp_direct.p99_ms,
        )

    def rows(self) -> list[tuple[str, str, str]]:
        p99 = f"< {TARGET_ADDED_P99_MS:g} ms (Toxiproxy ~{TOXIPROXY_FIGURE_MS:g} ms)"
        return [
            ("udp added p50 (round trip)", f"{self.udp_added.p50_ms:.3f} ms", ""),
            ("udp added p99 (round trip)", f"{self.udp_added.p99_ms:.3f} ms", p99),
            ("tcp added p50 (round trip)", f"{self.tcp_added.p50_ms:.3f} ms", ""),
            ("tcp added p99 (round trip)", f"{self.tcp_added.p99_ms:.3f} ms", p99),
            (
                "udp datagrams/s through one hop",
                f"{self.udp_datagrams_per_s:,.0f}",
                f">= {TARGET_DATAGRAMS_PER_S:,}",
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["udp_added"] = asdict(self.udp_added)
        data["tcp_added"] = asdict(self.tcp_added)
        data["targets"] = {
            "added_p99_ms": TARGET_ADDED_P99_MS,
            "datagrams_per_s": TARGET_DATAGRAMS_PER_S,
        }
        return data

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"hop": self.to_json()}, indent=2))


def _proxy(url: str, name: str, upstream: tuple[str, int], protocol: str) -> int:
    body = {"name": name, "upstream": f"{upstream[0]}:{upstream[1]}", "protocol": protocol}
    response = requests.post(url + "/proxies", json=body, timeout=5)
    response.raise_for_status()
    return int(response.json()["listen"].rsplit(":", 1)[1])


def _udp_latency(url: str, samples: int) -> tuple[PathLatency, PathLatency]:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        server.settimeout(2)
        client.settimeout(2)
        direct = server.getsockname()
        via = ("127.0.0.1", _proxy(url, "bench_udp", direct, "udp"))
        payload = b"x" * 100  # about a STUN Binding request
        times: dict[bool, list[float]] = {False: [], True: []}
        for index in range(samples * 2 + 50):
            through_hop = bool(index % 2)
            start = time.perf_counter()
            client.sendto(payload, via if through_hop else direct)
            data, peer = server.recvfrom(2048)
            server.sendto(data, peer)
            client.recvfrom(2048)
            if index >= 50:  # warm-up: flow creation, caches
                times[through_hop].append((time.perf_counter() - start) * 1000)
    return _stats(times[False]), _stats(times[True])


def _tcp_latency(url: str, samples: int) -> tuple[PathLatency, PathLatency]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = _proxy(url, "bench_tcp", listener.getsockname(), "tcp")
        legs = []
        for target in (listener.getsockname(), ("127.0.0.1", port)):
            client = socket.create_connection(target, timeout=2)
            server, _ = listener.accept()
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            legs.append((client, server))
        payload = b"x" * 200  # about a signalling message
        times: dict[int, list[float]] = {0: [], 1: []}
        try:
            for index in range(samples * 2 + 50):
                client, server = legs[index % 2]
                start = time.perf_counter()
                client.sendall(payload)
                _recv_exactly(server, len(payload))
                server.sendall(payload)
                _recv_exactly(client, len(payload))
                if index >= 50:
                    times[index % 2].append((time.perf_counter() - start) * 1000)
        finally:
            for pair in legs:
                for sock in pair:
                    sock.close()
    return _stats(times[0]), _stats(times[1])


def _recv_exactly(sock: socket.socket, size: int) -> None:
    got = 0
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            raise ConnectionError("peer closed during the benchmark")
        got += len(chunk)


def _stats(values: list[float]) -> PathLatency:
    return PathLatency(statistics.median(values), _percentile(values, 0.99))


def _udp_rate(url: str, seconds: float, window: int = 64) -> float:
    """Closed loop: ``window`` datagrams in flight through the hop to an echo in this thread;
    every reply is two datagrams forwarded by the hop (one each way)."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        via = ("127.0.0.1", _proxy(url, "bench_rate", server.getsockname(), "udp"))
        for sock in (server, client):
            sock.setblocking(False)
        payload = b"x" * 100
        in_flight = 0
        replies = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            while in_flight < window:
                client.sendto(payload, via)
                in_flight += 1
            readable, _, _ = select.select([server, client], [], [], 0.05)
            if not readable:
                in_flight = 0  # the hop dropped some under load; refill the window
                continue
            while True:
                try:
                    data, peer = server.recvfrom(2048)
                except BlockingIOError:
                    break
                server.sendto(data, peer)
            while True:
                try:
                    client.recv(2048)
                except BlockingIOError:
                    break
                replies += 1
                in_flight -= 1
    return 2 * replies / seconds


def run(samples: int = 2000, rate_seconds: float = 3.0) -> HopBench:
    with HopServer.start() as hop:
        udp_direct, udp_hop = _udp_latency(hop.url, samples)
        tcp_direct, tcp_hop = _tcp_latency(hop.url, samples)
        rate = _udp_rate(hop.url, rate_seconds)
    return HopBench(samples, udp_direct, udp_hop, tcp_direct, tcp_hop, rate)
