"""The global media endpoint's DNS responder: the nearest edge for the querier's region."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from peers.compact.udp import listen


@dataclass(frozen=True)
class Region:
    subnet: ipaddress.IPv4Network
    edge_ip: str  # the region's nearest edge


class DnsResponder:
    def __init__(
        self, listen_addr: tuple[str, int], name: str, regions: list[Region], ttl_s: int
    ) -> None:
        self.listen_addr = listen_addr
        self.name = dns.name.from_text(name)
        self.regions = regions
        self.ttl_s = ttl_s
        self._transport: asyncio.DatagramTransport | None = None

    def edge_for(self, client_ip: str) -> str:
        """A query from outside every client subnet is treated as from the first region."""
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return self.regions[0].edge_ip
        for region in self.regions:
            if address in region.subnet:
                return region.edge_ip
        return self.regions[0].edge_ip

    def receive(self, data: bytes, source: tuple[str, int], reply: Callable[[bytes], None]) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return  # not a DNS message we can answer
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            reply(response.to_wire())
            return
        question = query.question[0]
        response.flags |= dns.flags.AA
        if question.name != self.name:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A and question.rdclass == dns.rdataclass.IN:
            response.answer.append(
                dns.rrset.from_text(self.name, self.ttl_s, "IN", "A", self.edge_for(source[0]))
            )
        # any other type for the name: NOERROR with no answer (NODATA)
        reply(response.to_wire())

    async def start(self) -> None:
        self._transport = await listen(*self.listen_addr, self.receive)

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
