"""Client rules settled by issue 17, against real loopback peers.

SIG-16 (an error answer fails the call even after a check succeeded), SIG-15
(one deadline, never shorter than the signaling timeout plus a margin),
SIG-17 (no DNS query before `connect`), TGT-10 (with `edges` only, the first
listed edge is pinged).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import dns.message
import dns.rrset
import pytest
from client_peers import gateway, make_target, responder

from harness.client import CallOutcome, CallResult, EventKind, UllcClient
from harness.client.client import DEADLINE_MARGIN_S, DEFAULT_DEADLINE_S, call_deadline_s
from harness.signaling import ErrorCode
from harness.target import Endpoints, HostPort, Limits

T = TypeVar("T")
NAME = "media.ullc.test"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=20))


def _connected_at(result: CallResult) -> list[float]:
    return [e.t_ms for e in result.timeline if e.kind is EventKind.CONNECTED]


@pytest.mark.requirements("SIG-16")
def test_error_answer_after_a_check_succeeded_fails_the_call() -> None:
    # The session with these credentials already exists (so checks succeed at
    # once); the gateway answers `conflict` 150 ms later.
    async def scenario() -> CallResult:
        async with responder() as bot, gateway(holding=bot, answer="conflict", delay_s=0.15) as gw:
            async with UllcClient(make_target(gw.url, bot.address)) as client:
                return await client.connect()

    result = run(scenario())
    assert _connected_at(result), "the check should have succeeded before the answer"
    assert _connected_at(result)[0] < 150
    assert result.outcome is CallOutcome.SIGNALING_ERROR
    assert result.error_code is ErrorCode.CONFLICT
    assert result.failure == "signaling_error(conflict)"
    assert result.connect_ms is None
    assert result.detail is not None
    assert "a check had succeeded" in result.detail


@pytest.mark.requirements("SIG-16", "SIG-14")
def test_success_without_any_answer_by_the_deadline_is_a_signaling_timeout() -> None:
    async def scenario() -> CallResult:
        async with responder() as bot, gateway(holding=bot, answer="stored_silent") as gw:
            async with UllcClient(make_target(gw.url, bot.address), deadline_s=0.4) as client:
                return await client.connect()

    result = run(scenario())
    assert _connected_at(result)
    assert result.outcome is CallOutcome.SIGNALING_TIMEOUT
    assert result.connect_ms is None


@pytest.mark.requirements("SIG-15", "STUN-32")
def test_call_deadline_covers_the_gateway_timeout_plus_a_margin() -> None:
    target = make_target("ws://127.0.0.1:1/v1/signaling", ("127.0.0.1", 3478))
    assert call_deadline_s(target) == DEFAULT_DEADLINE_S == 5.0
    slow = dataclasses.replace(target, limits=Limits(signaling_timeout_ms=4500))
    assert call_deadline_s(slow) == 4.5 + DEADLINE_MARGIN_S
    assert UllcClient(slow).deadline_s == 5.5


@pytest.mark.requirements("TGT-10")
def test_with_edges_only_every_call_pings_the_first_listed_edge() -> None:
    async def scenario() -> tuple[list[CallResult], int, int]:
        async with responder() as first, responder() as second:
            async with gateway(holding=first, others=(second,)) as gw:
                target = make_target(gw.url, first.address)
                both = Endpoints(
                    gateway=gw.url, edges=(HostPort(*first.address), HostPort(*second.address))
                )
                target = dataclasses.replace(target, endpoints=both)
                async with UllcClient(target) as client:
                    results = [await client.connect() for _ in range(3)]
                return results, len(first.received), len(second.received)

    results, to_first, to_second = run(scenario())
    assert all(r.outcome is CallOutcome.CONNECTED for r in results), [r.detail for r in results]
    assert to_first >= 3
    assert to_second == 0


class _CountingDns(asyncio.DatagramProtocol):
    """Answers NAME with 127.0.0.1 (TTL 60 s) and counts the queries."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queries += 1
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(f"{NAME}.", 60, "IN", "A", "127.0.0.1"))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def _dns() -> AsyncIterator[tuple[tuple[str, int], _CountingDns]]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        _CountingDns, local_addr=("127.0.0.1", 0)
    )
    try:
        yield transport.get_extra_info("sockname")[:2], protocol
    finally:
        transport.close()


@pytest.mark.requirements("SIG-17", "SIG-5", "TGT-9")
def test_no_dns_query_before_connect_and_the_answer_is_kept_for_its_ttl() -> None:
    async def scenario() -> tuple[int, int, int, list[CallResult]]:
        async with responder() as bot, gateway(holding=bot) as gw, _dns() as (server, dns):
            target = make_target(gw.url, bot.address)
            by_name = Endpoints(
                gateway=gw.url,
                dns=HostPort(*server),
                global_endpoint=NAME,
                global_port=bot.address[1],
            )
            target = dataclasses.replace(target, endpoints=by_name)
            async with UllcClient(target) as client:
                await asyncio.sleep(0.1)  # opened and prepared: still no query
                before = dns.queries
                first = await client.connect()
                after_first = dns.queries
                second = await client.connect()
                return before, after_first, dns.queries, [first, second]

    before, after_first, after_second, results = run(scenario())
    assert all(r.outcome is CallOutcome.CONNECTED for r in results), [r.detail for r in results]
    assert before == 0
    assert after_first == 1
    assert after_second == 1  # the first call's answer, within its TTL (SIG-5)
    first = results[0]
    # The query is on the call's clock: it is in the call's timeline, after t0.
    sent = next(e for e in first.timeline if e.kind is EventKind.DNS_SENT)
    assert sent.t_ms >= 0
    assert first.connect_ms is not None
    assert first.connect_ms > sent.t_ms
