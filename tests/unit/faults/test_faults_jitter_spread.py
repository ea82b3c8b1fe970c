"""A latency toxic's jitter really spreads the delays, measured through a real hop.

``latency ± jitter`` is uniform (harness/faults/toxics), so with latency 40 and jitter 30
one-way delays spread over 10..70 ms: an interquartile range near 30 ms. Two proxies in
front of one echo server, one with the jitter and one without, are sampled alternately,
so load on this shared machine widens both alike: the jittered one must be wider by
about the jitter. A toxic that dropped the jitter, or added a constant instead, would
pass a test that looked only at the mean.
"""

from __future__ import annotations

import socket
import statistics
from collections.abc import Callable

from conftest import Api, TcpEcho, UdpEcho, port_of, tcp_rtt, udp_rtt

LATENCY_MS = 40
JITTER_MS = 30
SAMPLES = 40


def _iqr(samples: list[float]) -> float:
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return q3 - q1


def _alternate(
    clean: Callable[[], float], jittery: Callable[[], float]
) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(SAMPLES):
        a.append(clean())
        b.append(jittery())
    return a, b


def _proxies(api: Api, upstream: str, protocol: str) -> tuple[int, int]:
    ports = []
    for name, jitter in ((f"steady-{protocol}", 0), (f"jitter-{protocol}", JITTER_MS)):
        proxy = api.proxy(name, upstream, protocol=protocol)
        api.toxic(
            name,
            type="latency",
            stream="upstream",
            attributes={"latency": LATENCY_MS, "jitter": jitter},
        )
        ports.append(port_of(proxy))
    return ports[0], ports[1]


def test_udp_latency_jitter_spreads_round_trips(
    api: Api, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    steady, jittery = _proxies(api, udp_echo.address, "udp")

    clean, spread = _alternate(
        lambda: udp_rtt(udp_client, steady), lambda: udp_rtt(udp_client, jittery)
    )

    _judge(clean, spread)


def test_tcp_latency_jitter_spreads_round_trips(api: Api, tcp_echo: TcpEcho) -> None:
    steady, jittery = _proxies(api, tcp_echo.address, "tcp")
    with (
        socket.create_connection(("127.0.0.1", steady), timeout=2) as a,
        socket.create_connection(("127.0.0.1", jittery), timeout=2) as b,
    ):
        for sock in (a, b):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        clean, spread = _alternate(lambda: tcp_rtt(a), lambda: tcp_rtt(b))

    _judge(clean, spread)


def _judge(clean: list[float], spread: list[float]) -> None:
    detail = (sorted(clean), sorted(spread))
    # The hop never delivers before latency - jitter.
    assert min(spread) >= LATENCY_MS - JITTER_MS - 1, detail
    assert min(clean) >= LATENCY_MS - 1, detail
    # Uniform over 2 x jitter: IQR ~ jitter, range ~ 2 x jitter; load widens both sides.
    assert _iqr(spread) > JITTER_MS / 2, detail
    assert _iqr(spread) > _iqr(clean) + JITTER_MS / 3, detail
    # Some round trips come in well under the latency: the spread goes both ways.
    assert sorted(spread)[SAMPLES // 10] < LATENCY_MS - JITTER_MS / 3, detail
