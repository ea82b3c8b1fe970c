"""Real sockets on 127.0.0.1, ephemeral ports only, one hop server process per session."""

from __future__ import annotations

import math
import socket
import socketserver
import statistics
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from harness.faults.api.launcher import HopServer

HOP_SEED = 7


class UdpEcho:
    """Echo server in a thread: replies to each datagram, to its sender."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.sock.sendto(data, peer)

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        self.sock.close()


class UdpSink:
    """A bound socket that receives what a hop forwards (the upstream of a loss test)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def drain(self, into: list[bytes]) -> None:
        while True:
            try:
                into.append(self.sock.recv(65535))
            except BlockingIOError:
                return

    def close(self) -> None:
        self.sock.close()


def blast(port: int, sink: UdpSink, count: int, batch: int = 100) -> list[int]:
    """Send ``count`` numbered datagrams through a hop at a pace the hop and the kernel keep
    up with (no buffer overflow, so every loss is the toxic's); return the sequence numbers
    that arrived, in arrival order."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    received: list[bytes] = []
    try:
        for start in range(0, count, batch):
            for seq in range(start, min(start + batch, count)):
                sender.sendto(struct.pack("!I", seq), ("127.0.0.1", port))
            time.sleep(0.004)
            sink.drain(received)
        quiet = time.monotonic() + 0.3
        while time.monotonic() < quiet:
            before = len(received)
            time.sleep(0.02)
            sink.drain(received)
            if len(received) != before:
                quiet = time.monotonic() + 0.3
    finally:
        sender.close()
    return [struct.unpack("!I", data[:4])[0] for data in received]


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.request.sendall(data)


class TcpEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.port = self.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def udp_rtt(sock: socket.socket, port: int, payload: bytes = b"ping" * 4) -> float:
    """One round trip through ``port`` in ms (the socket has a timeout)."""
    start = time.perf_counter()
    sock.sendto(payload, ("127.0.0.1", port))
    while True:
        data, _ = sock.recvfrom(65535)
        if data == payload:
            return (time.perf_counter() - start) * 1000


def tcp_rtt(sock: socket.socket, payload: bytes = b"ping" * 4) -> float:
    start = time.perf_counter()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        assert chunk, "connection closed during a round trip"
        got += chunk
    return (time.perf_counter() - start) * 1000


def median_rtt(measure: Callable[[], float], n: int = 5) -> float:
    """Median of ``n`` round trips: one sample on a shared 2-core machine can spike by
    tens of ms, which says nothing about the hop."""
    return statistics.median(measure() for _ in range(n))


def paired_medians(clean: Callable[[], float], impaired: Callable[[], float], n: int) -> float:
    """Median(impaired) - median(clean), sampled alternately so load on this shared
    machine hits both sides alike."""
    a, b = [], []
    for _ in range(n):
        a.append(clean())
        b.append(impaired())
    return statistics.median(b) - statistics.median(a)


def binomial_interval(n: int, p: float, confidence: float = 0.999) -> tuple[int, int]:
    """Exact central interval of Binomial(n, p) with the given coverage."""
    tail = (1 - confidence) / 2
    log_pmf = [
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
        for k in range(n + 1)
    ]
    cdf, low, high = 0.0, 0, n
    for k, lp in enumerate(log_pmf):
        cdf += math.exp(lp)
        if cdf < tail:
            low = k + 1
        if cdf >= 1 - tail:
            high = k
            break
    return low, high


class Api:
    """Raw HTTP to the hop server (the tests of the API itself use this, not the client)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=5)

    def post(self, path: str, body: Any = None, *, data: bytes | None = None) -> requests.Response:
        if data is not None:
            return requests.post(self.url + path, data=data, timeout=5)
        return requests.post(self.url + path, json=body, timeout=5)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.url + path, timeout=5)

    def proxy(self, name: str, upstream: str, **extra: Any) -> dict[str, Any]:
        response = self.post("/proxies", {"name": name, "upstream": upstream, **extra})
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def toxic(self, proxy: str, **body: Any) -> dict[str, Any]:
        response = self.post(f"/proxies/{proxy}/toxics", body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def port_of(proxy: dict[str, Any]) -> int:
    return int(proxy["listen"].rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def hop() -> Iterator[HopServer]:
    with HopServer.start(seed=HOP_SEED) as server:
        yield server


@pytest.fixture
def api(hop: HopServer) -> Iterator[Api]:
    client = Api(hop.url)
    yield client
    for name in client.get("/proxies").json():
        client.delete(f"/proxies/{name}")
    client.post("/engine", {"seed": HOP_SEED})


@pytest.fixture
def udp_echo() -> Iterator[UdpEcho]:
    echo = UdpEcho()
    yield echo
    echo.close()


@pytest.fixture
def tcp_echo() -> Iterator[TcpEcho]:
    echo = TcpEcho()
    yield echo
    echo.close()


@pytest.fixture
def udp_sink() -> Iterator[UdpSink]:
    sink = UdpSink()
    yield sink
    sink.close()


@pytest.fixture
def udp_client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    yield sock
    sock.close()


@pytest.fixture
def hop_client(hop: HopServer, api: Api) -> Iterator[Any]:
    """A FaultClient on the session's hop server (cleaned up by ``api``)."""
    from harness.faults.client import FaultClient

    client = FaultClient.connect(hop.url)
    yield client
    client.close()
