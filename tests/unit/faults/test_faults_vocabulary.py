"""The fault vocabulary, the fault log and schedules, over the client API."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from itertools import pairwise

import pytest
from conftest import TcpEcho, UdpEcho, median_rtt, tcp_rtt, udp_rtt

from harness.errors import UsageError
from harness.faults.client import FaultClient
from harness.faults.log import FaultLog
from harness.faults.model import Protocol, Stream
from harness.faults.schedule import FaultKind, FaultSpec, Schedule
from harness.faults.vocabulary import PartitionMode


def test_partition_and_latency_apply_on_enter_and_undo_on_exit(
    hop_client: FaultClient, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    link = hop_client.create_link("media", udp_echo.address, protocol=Protocol.UDP)
    udp_client.settimeout(0.3)
    with link.partition():
        with pytest.raises(TimeoutError):
            udp_rtt(udp_client, link.port)
    udp_client.settimeout(2)
    assert median_rtt(lambda: udp_rtt(udp_client, link.port)) < 20
    with link.latency(25, stream=Stream.BOTH), link.loss(0.0):
        assert udp_rtt(udp_client, link.port) >= 50
    assert link.toxics() == []
    events = [(e.what, e.action.value) for e in hop_client.log]
    assert events == [
        ("partition", "applied"),
        ("partition", "removed"),
        ("latency", "applied"),
        ("loss", "applied"),
        ("loss", "removed"),
        ("latency", "removed"),
    ]
    assert all(a.t <= b.t for a, b in pairwise(hop_client.log.events))
    restored = FaultLog.from_json(json.loads(hop_client.log.dumps()))
    assert restored.events == hop_client.log.events


def test_tcp_vocabulary_disable_reset_and_udp_only_faults(
    hop_client: FaultClient, tcp_echo: TcpEcho
) -> None:
    link = hop_client.create_link("gateway", tcp_echo.address)
    with link.partition(PartitionMode.DISABLE), pytest.raises(ConnectionRefusedError):
        socket.create_connection(link.address, timeout=1).close()
    with socket.create_connection(link.address, timeout=2) as sock:
        with link.reset_peer(stream=Stream.UPSTREAM):
            sock.sendall(b"x")
            with pytest.raises(ConnectionResetError):
                sock.recv(10)
    with pytest.raises(UsageError, match="only on UDP"):
        link.loss(0.1)
    with socket.create_connection(link.address, timeout=2) as sock, link.bandwidth(50):
        sock.sendall(b"y" * 20_000)  # 20 kB at 50 KB/s downstream: ~0.4 s
        start, got = time.monotonic(), 0
        while got < 20_000:
            got += len(sock.recv(65536))
        assert time.monotonic() - start >= 0.3


def test_schedule_switches_faults_at_their_times(
    hop_client: FaultClient, udp_echo: UdpEcho
) -> None:
    link = hop_client.create_link("edge", udp_echo.address, protocol=Protocol.UDP)
    schedule = Schedule(seed=1).add(0.1, 0.5, FaultSpec(FaultKind.LATENCY, "edge", {"ms": 10}))
    schedule.add(0.2, None, FaultSpec(FaultKind.LOSS, "edge", {"probability": 0.5}))
    start = time.monotonic()
    with schedule.run(hop_client, start=start) as run:
        time.sleep(0.3)
        assert {t.type for t in link.toxics()} == {"latency", "loss"}
        assert run.wait(2)
        assert {t.type for t in link.toxics()} == {"loss"}  # no end: stays until stop
    assert link.toxics() == []
    applied = {e.what: e.t - start for e in hop_client.log if e.action.value == "applied"}
    assert 0.1 <= applied["latency"] < 0.25
    assert 0.2 <= applied["loss"] < 0.35


def test_random_schedules_are_reproducible_and_serialise() -> None:
    kinds = (FaultKind.LATENCY, FaultKind.LOSS, FaultKind.PARTITION)
    one = Schedule.random(seed=5, links=["a", "b"], duration=10, count=6, kinds=kinds)
    two = Schedule.random(seed=5, links=["a", "b"], duration=10, count=6, kinds=kinds)
    other = Schedule.random(seed=6, links=["a", "b"], duration=10, count=6, kinds=kinds)
    assert one.to_json() == two.to_json() != other.to_json()
    assert Schedule.from_json(json.loads(json.dumps(one.to_json()))) == one


def test_client_is_usable_from_asyncio(hop_client: FaultClient, tcp_echo: TcpEcho) -> None:
    async def scenario() -> float:
        link = await asyncio.to_thread(hop_client.create_link, "signaling", tcp_echo.address)
        schedule = Schedule().add(0, 0.3, FaultSpec(FaultKind.RTT, "signaling", {"ms": 40}))
        task = asyncio.create_task(schedule.run_async(hop_client))
        await asyncio.sleep(0.1)
        with socket.create_connection(link.address, timeout=2) as sock:
            rtt = await asyncio.to_thread(tcp_rtt, sock)
        await task
        return rtt

    assert asyncio.run(scenario()) >= 39
