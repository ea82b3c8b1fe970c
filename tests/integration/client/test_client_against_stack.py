"""The client against the real reference stack (default world, 100 ms client-DC RTT).

Numbers are asserted generously (a shared 2-core machine); the exact ones go
to the benchmark. One stack per module; every test leaves the maps as found.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from harness.client import CallResult, run_calls
from harness.routing import LatencyMap
from harness.signaling import Mode
from harness.stack.local.backend import LocalBackend, start_local_stack
from harness.stats import CallStats
from harness.target import Target, load_target

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalBackend]:
    with start_local_stack(network="auto", timeout=30) as running:
        yield running


@pytest.fixture(scope="module")
def target(stack: LocalBackend) -> Target:
    return load_target(stack.target_path)


def _calls(target: Target, n: int, mode: Mode = Mode.ULLC) -> tuple[list[CallResult], CallStats]:
    return run(run_calls(target, n, concurrency=10, mode=mode))


def test_hundred_ullc_calls_connect_under_budget(target: Target) -> None:
    results, stats = _calls(target, 100)
    assert stats.failed == 0, dict(stats.failures)
    assert stats.p95_ms is not None
    assert stats.p95_ms < target.limits.connect_budget_ms
    # ROUTE-7: same map everywhere, so every bet wins.
    assert stats.hit_rate == 1.0
    assert stats.fallbacks == 0
    assert len({r.dc for r in results}) == 1


def test_ullc_saves_about_one_round_trip(stack: LocalBackend, target: Target) -> None:
    rtt = stack.topology.client_dc_rtt_ms()
    _, ullc = _calls(target, 30, Mode.ULLC)
    _, sequential = _calls(target, 30, Mode.SEQUENTIAL)
    assert ullc.failed == 0
    assert sequential.failed == 0
    assert ullc.p50_ms is not None
    assert sequential.p50_ms is not None
    # ULLC takes the signaling round trip off the critical path.
    assert sequential.p50_ms - ullc.p50_ms > 0.5 * rtt, (ullc.to_json(), sequential.to_json())
    # Never faster than physics: one client-DC round trip is the floor.
    assert ullc.p50_ms > 0.9 * rtt


def _route(stack: LocalBackend, version: str, edge_ip: str) -> str:
    body = json.loads(stack.map_files[version].read_text(encoding="utf-8"))
    return LatencyMap.from_json(body).route(edge_ip)


@pytest.mark.parametrize("diverged", ["gateway", "edge"])
def test_divergent_maps_fall_back_to_the_holding_dc(
    stack: LocalBackend, target: Target, diverged: str
) -> None:
    # The edge this client resolves, and a map version that routes it elsewhere.
    probe, _ = _calls(target, 1)
    assert probe[0].edge is not None
    edge_ip = probe[0].edge.rsplit(":", 1)[0]
    other = next(v for v in stack.map_files if _route(stack, v, edge_ip) != probe[0].dc)
    edge = stack.topology.nearest_edge(stack.topology.client_region)
    component = "gateway" if diverged == "gateway" else edge
    stack.set_latency_map(component, other)
    try:
        results, stats = _calls(target, 10)
    finally:
        stack.set_latency_map(component, "true")
    assert stats.failed == 0, dict(stats.failures)
    assert all(r.fell_back for r in results), [(r.dc, r.map_version) for r in results]
    assert stats.hit_rate == 0.0
    holding = _route(stack, other if diverged == "gateway" else "true", edge_ip)
    assert {r.dc for r in results} == {holding}
    # FB-5 with the media RTT unknown to the client: the target's fallback_ms.
    assert stats.mean_recovery_ms is not None
    assert stats.mean_recovery_ms < target.limits.fallback_ms


def test_connect_command_prints_one_json_object(stack: LocalBackend) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "connect",
            "--target",
            str(stack.target_path),
            "--calls",
            "20",
            "--concurrency",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    body = json.loads(completed.stdout)
    assert body["calls"] == 20
    assert body["connected"] == 20
    assert body["failed"] == 0
    for key in ("p50_ms", "p95_ms", "p99_ms", "fallbacks", "hit_rate", "mode", "failures"):
        assert key in body
    assert body["mode"] == "ullc"


def test_client_reuses_the_dns_answer_while_its_ttl_lasts(target: Target) -> None:  # SIG-5
    from harness.client import UllcClient
    from harness.client.result import EventKind

    async def two_calls(reuse_dns: bool) -> list[CallResult]:
        async with UllcClient(target, reuse_dns=reuse_dns) as client:
            return [await client.connect(), await client.connect()]

    def queried(result: CallResult) -> bool:
        return any(event.kind is EventKind.DNS_SENT for event in result.timeline)

    first, second = run(two_calls(reuse_dns=True))
    assert first.connected
    assert second.connected
    assert queried(first)
    assert not queried(second)
    assert second.edge == first.edge
    assert all(queried(result) for result in run(two_calls(reuse_dns=False)))
