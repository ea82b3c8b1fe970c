"""The hop does what it is told, measured with real sockets through a real hop process.

Tolerances: latency within ±(1 ms + 2 %) of the configured value, as medians of
alternating samples on a clean and an impaired proxy (noise from other work on
this shared machine hits both); loss counts inside the exact 99.9 % binomial
interval. No retries: medians and paired sampling are what make it robust.
"""

from __future__ import annotations

import socket
import statistics
from itertools import pairwise

import pytest
from conftest import (
    Api,
    TcpEcho,
    UdpEcho,
    UdpSink,
    binomial_interval,
    blast,
    paired_medians,
    port_of,
    tcp_rtt,
    udp_rtt,
)

from harness.faults.client import FaultClient


def _tolerance(ms: float) -> float:
    return 1.0 + 0.02 * ms


@pytest.mark.parametrize("latency", [20, 50])
def test_udp_latency_matches_configuration(
    api: Api, udp_echo: UdpEcho, udp_client: socket.socket, latency: int
) -> None:
    clean = port_of(api.proxy("clean", udp_echo.address, protocol="udp"))
    slow = port_of(api.proxy("slow", udp_echo.address, protocol="udp"))
    api.toxic("slow", type="latency", stream="upstream", attributes={"latency": latency})
    added = paired_medians(
        lambda: udp_rtt(udp_client, clean), lambda: udp_rtt(udp_client, slow), n=25
    )
    assert abs(added - latency) <= _tolerance(latency), f"added {added:.2f} ms"


@pytest.mark.parametrize("latency", [20, 50])
def test_tcp_latency_matches_configuration(api: Api, tcp_echo: TcpEcho, latency: int) -> None:
    clean = port_of(api.proxy("clean", tcp_echo.address))
    slow = port_of(api.proxy("slow", tcp_echo.address))
    api.toxic("slow", type="latency", attributes={"latency": latency})  # downstream default
    with (
        socket.create_connection(("127.0.0.1", clean), timeout=2) as a,
        socket.create_connection(("127.0.0.1", slow), timeout=2) as b,
    ):
        for sock in (a, b):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        added = paired_medians(lambda: tcp_rtt(a), lambda: tcp_rtt(b), n=25)
    assert abs(added - latency) <= _tolerance(latency), f"added {added:.2f} ms"


def test_rtt_adds_the_round_trip(
    hop_client: FaultClient, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    clean = hop_client.create_link("rtt_clean", udp_echo.address, protocol=_udp())
    link = hop_client.create_link("rtt_slow", udp_echo.address, protocol=_udp())
    with link.rtt(30):
        toxics = link.toxics()
        assert sorted(t.stream.value for t in toxics) == ["downstream", "upstream"]
        added = paired_medians(
            lambda: udp_rtt(udp_client, clean.port), lambda: udp_rtt(udp_client, link.port), n=20
        )
    assert abs(added - 30) <= _tolerance(30), f"added {added:.2f} ms"
    assert link.toxics() == []


def test_removing_a_toxic_restores_the_clean_path(
    api: Api, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    clean = port_of(api.proxy("clean", udp_echo.address, protocol="udp"))
    hop = port_of(api.proxy("hop", udp_echo.address, protocol="udp"))
    api.toxic("hop", name="slow", type="latency", stream="both", attributes={"latency": 15})
    assert udp_rtt(udp_client, hop) >= 30
    assert api.delete("/proxies/hop/toxics/slow").status_code == 204
    added = paired_medians(
        lambda: udp_rtt(udp_client, clean), lambda: udp_rtt(udp_client, hop), n=20
    )
    assert abs(added) <= 1.0


def test_loss_rate_lies_in_the_binomial_interval(api: Api, udp_sink: UdpSink) -> None:
    n, p = 10_000, 0.2
    port = port_of(api.proxy("lossy", udp_sink.address, protocol="udp"))
    api.toxic("lossy", type="loss", stream="upstream", attributes={"probability": p})
    arrived = blast(port, udp_sink, n)
    low, high = binomial_interval(n, p)
    assert low <= n - len(arrived) <= high, (low, n - len(arrived), high)


def _lost(api: Api, sink: UdpSink, n: int, **attributes: float) -> list[int]:
    port = port_of(api.proxy("pattern", sink.address, protocol="udp"))
    api.toxic("pattern", name="drop", type="loss", stream="upstream", attributes=attributes)
    arrived = set(blast(port, sink, n))
    api.delete("/proxies/pattern")
    return [seq for seq in range(n) if seq not in arrived]


def test_same_seed_same_drop_pattern_different_seed_different(api: Api, udp_sink: UdpSink) -> None:
    first = _lost(api, udp_sink, 2000, probability=0.3)
    again = _lost(api, udp_sink, 2000, probability=0.3)
    other = _lost(api, udp_sink, 2000, probability=0.3, seed=12345)
    assert first == again
    assert first != other
    api.post("/engine", {"seed": 99})  # the hub's root seed changes the pattern too
    assert _lost(api, udp_sink, 2000, probability=0.3) != first


def test_gilbert_elliott_loss_comes_in_bursts_of_mean_one_over_r(
    api: Api, udp_sink: UdpSink
) -> None:
    n, p, r = 10_000, 0.05, 0.25
    port = port_of(api.proxy("bursty", udp_sink.address, protocol="udp"))
    api.toxic("bursty", type="gilbert_elliott", stream="upstream", attributes={"p": p, "r": r})
    arrived = set(blast(port, udp_sink, n))
    lost = [seq for seq in range(n) if seq not in arrived]
    bursts, run = [], 1
    for a, b in pairwise(lost):
        if b == a + 1:
            run += 1
        else:
            bursts.append(run)
            run = 1
    bursts.append(run)
    # ~417 bursts, geometric with sd 3.5: the mean's standard error is ~0.17 (4 % of 4).
    assert statistics.mean(bursts) == pytest.approx(1 / r, rel=0.2)
    assert len(lost) / n == pytest.approx(p / (p + r), rel=0.2)


def test_reset_clears_toxics_and_enables_every_proxy(
    api: Api, udp_echo: UdpEcho, tcp_echo: TcpEcho, udp_client: socket.socket
) -> None:
    udp = port_of(api.proxy("u", udp_echo.address, protocol="udp"))
    tcp = port_of(api.proxy("t", tcp_echo.address))
    api.toxic("u", type="blackhole", stream="both")
    api.toxic("t", type="timeout", attributes={"timeout": 0})
    assert api.post("/proxies/t", {"enabled": False}).json()["enabled"] is False
    assert api.post("/reset").status_code == 204
    proxies = api.get("/proxies").json()
    assert all(p["enabled"] and p["toxics"] == [] for p in proxies.values())
    assert udp_rtt(udp_client, udp) < 50
    with socket.create_connection(("127.0.0.1", tcp), timeout=2) as sock:
        assert tcp_rtt(sock) < 50


def _udp():  # type: ignore[no-untyped-def]
    from harness.faults.model import Protocol

    return Protocol.UDP
