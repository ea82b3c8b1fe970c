"""Interop (issue 4 part 7): aioice, a real full ICE agent, connects to a bot session.

The harness only plays the signaling half: it pre-generates both credential
sets, sends ``session.create`` over the gateway, and hands the same
credentials to ``aioice.Connection`` with the edge as the remote host
candidate. aioice then runs its own checks (RFC 8445, with nomination) through
edge, ingress and bot of the reference stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aioice
import pytest

from harness.client.dns import resolve_edge
from harness.client.gateway import GatewayConnection
from harness.client.offer import CallOffer
from harness.signaling import Mode, SessionCreated, SessionCreateRequest
from harness.stack.local.backend import LocalBackend, start_local_stack
from harness.target import Target, load_target


@pytest.fixture(scope="module")
def interop_target() -> Iterator[Target]:
    stack: LocalBackend
    with start_local_stack(network="auto", timeout=30) as stack:
        yield load_target(stack.target_path)


def test_aioice_connects_to_a_bot_session_through_the_stack(interop_target: Target) -> None:
    if not aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False):
        pytest.skip("aioice finds no non-loopback IPv4 address to gather a host candidate on")
    target = interop_target

    async def scenario() -> tuple[SessionCreated, tuple[str, int]]:
        endpoints = target.endpoints
        assert endpoints.dns is not None
        assert endpoints.global_endpoint is not None
        answer = await resolve_edge(
            endpoints.global_endpoint,
            endpoints.dns.as_tuple(),
            bind_ip=target.client.bind_ip,
            timeout_s=5,
        )
        edge = (answer.address, endpoints.global_port)
        offer = CallOffer.generate()
        agent = aioice.Connection(
            ice_controlling=True,
            components=1,
            use_ipv6=False,
            local_username=offer.client.ufrag,
            local_password=offer.client.pwd,
        )
        agent.remote_username = offer.bot.ufrag
        agent.remote_password = offer.bot.pwd
        async with GatewayConnection(endpoints.gateway, bind_ip=target.client.bind_ip) as gw:
            try:
                await agent.gather_candidates()
                await agent.add_remote_candidate(
                    aioice.Candidate(
                        foundation="edge",
                        component=1,
                        transport="udp",
                        priority=(126 << 24) | (65535 << 8) | 255,
                        host=edge[0],
                        port=edge[1],
                        type="host",
                    )
                )
                await agent.add_remote_candidate(None)
                request = SessionCreateRequest(
                    request_id="aioice.1",
                    mode=Mode.ULLC,
                    client=offer.client_offer(),
                    bot=offer.bot_credentials(),
                    edge_ip=edge[0],
                )
                # As in ULLC, signaling and aioice's checks start together.
                answer_future = await gw.send(request)
                await asyncio.wait_for(agent.connect(), timeout=10)
                created = await asyncio.wait_for(answer_future, timeout=5)
                assert isinstance(created, SessionCreated), created
                # aioice proved the pair works; it can now carry data to the bot.
                await agent.sendto(b"\x80hello", 1)
                return created, edge
            finally:
                await agent.close()

    # Reaching here means aioice.connect() finished: its checks to the edge were
    # answered and its nomination accepted by the bot that holds the session.
    created, _ = asyncio.run(scenario())
    assert created.session_id
    assert created.dc
