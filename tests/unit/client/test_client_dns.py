"""Resolving the global endpoint from the client's own address (a real UDP DNS responder)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import dns.message
import dns.rcode
import dns.rrset
import pytest

from harness.client.dns import DnsFailedError, resolve_edge

NAME = "media.ullc.test."


class _Responder(asyncio.DatagramProtocol):
    """Answers NAME with an address derived from the asker's: the "nearest edge"."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.sources: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        query = dns.message.from_wire(data)
        self.sources.append(addr[0])
        response = dns.message.make_response(query)
        if str(query.question[0].name) != NAME:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            edge = "127.10.1.1" if addr[0] == "127.0.0.1" else "127.10.2.1"
            response.answer.append(dns.rrset.from_text(NAME, 30, "IN", "A", edge))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def _dns_server() -> AsyncIterator[tuple[tuple[str, int], _Responder]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Responder, local_addr=("127.0.0.1", 0)
    )
    try:
        yield transport.get_extra_info("sockname")[:2], protocol
    finally:
        transport.close()


def test_answer_depends_on_the_bind_address() -> None:
    async def scenario() -> tuple[str, str, list[str]]:
        async with _dns_server() as (server, responder):
            first = await resolve_edge(NAME, server, bind_ip="127.0.0.1", timeout_s=2)
            second = await resolve_edge(NAME, server, bind_ip="127.0.0.2", timeout_s=2)
            return first.address, second.address, responder.sources

    first, second, sources = asyncio.run(scenario())
    assert (first, second) == ("127.10.1.1", "127.10.2.1")
    assert sources == ["127.0.0.1", "127.0.0.2"]


def test_nxdomain_and_silence_fail_typed() -> None:
    async def nxdomain() -> None:
        async with _dns_server() as (server, _):
            await resolve_edge("other.test.", server, bind_ip="127.0.0.1", timeout_s=2)

    with pytest.raises(DnsFailedError, match="NXDOMAIN"):
        asyncio.run(nxdomain())

    async def silence() -> None:
        # A bound socket that never answers: the query times out.
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        try:
            address = transport.get_extra_info("sockname")[:2]
            await resolve_edge(NAME, address, bind_ip="127.0.0.1", timeout_s=0.3)
        finally:
            transport.close()

    with pytest.raises(DnsFailedError, match="no answer"):
        asyncio.run(silence())
