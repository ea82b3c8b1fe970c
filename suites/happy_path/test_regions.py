"""Clients in every region of the world: each gets its own region's edge from DNS, and
every call's checks and signaling meet in the DC the true map picks for that edge.

The default client sits in one region whose true route is also the map's default DC, so a
routing function that ignored the edge, or a DNS answer that ignored the asker, passed
every other test. Reference stack only: a user target file describes one client
(``[client].bind_ip``), so its one region is what the other happy-path tests check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from harness.fixtures.target_session import RunningTarget
from harness.stats import run_calls
from harness.target.model import ClientSettings

pytestmark = pytest.mark.happy_path

CALLS_PER_REGION = 4
REGION_CLIENT_HOST = 40
"""Host part of the region clients' address (the target's own client binds ``.10``)."""


@pytest.mark.requirements("ROUTE-1", "ROUTE-3", "ROUTE-7", "TOPO-9", "TOPO-1")
def test_clients_of_every_region_hit_their_own_edge_and_true_dc(
    ullc_target: RunningTarget,
) -> None:
    if ullc_target.backend is None or ullc_target.topology is None:
        pytest.skip(
            "needs the reference stack's regions: a target file describes one client "
            "([client].bind_ip); write one target file per region to check each"
        )
    topology = ullc_target.topology
    plan = ullc_target.backend.plan
    unbindable = [
        address
        for address in (plan.client_ip(r.name, host=REGION_CLIENT_HOST) for r in topology.regions)
        if not _can_bind(address)
    ]
    if unbindable:
        pytest.skip(
            f"this backend gives the client no address in every region ({', '.join(unbindable)} "
            "cannot be bound here: the docker backend's client is its network's one bridge "
            "address); run it with --ullc-backend local"
        )
    for region in topology.regions:
        edge = topology.nearest_edge(region.name)
        edge_ip = plan.edge_public(edge)[0]
        dc = topology.true_route(edge)
        client = ClientSettings(bind_ip=plan.client_ip(region.name, host=REGION_CLIENT_HOST))
        target = dataclasses.replace(ullc_target.target, client=client)

        results, stats = asyncio.run(run_calls(target, CALLS_PER_REGION, concurrency=2))

        where = [(r.edge, r.dc, r.fell_back, r.failure) for r in results]
        assert stats.failed == 0, (region.name, where)
        # TOPO-9: the region's own edge from DNS, asked from the region's subnet.
        assert {r.edge.split(":")[0] for r in results if r.edge} == {edge_ip}, (region, where)
        # ROUTE-1/3/7: the session lives in the edge's true DC and the checks got there.
        assert {r.dc for r in results} == {dc}, (region.name, where)
        assert stats.hit_rate == 1.0, (region.name, where)


def _can_bind(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True
