"""The global media endpoint: a DNS responder answering the nearest edge (TOPO-5, RFC 1035).

Queries come through the client-dns hop with a PROXY v2 header naming the
client, whose address picks the region (the client subnets of the plan). The
global endpoint's A query is answered with the region's nearest edge; AAAA gets
an empty NOERROR (the world is IPv4); other names in the endpoint's zone get
NXDOMAIN and names outside it REFUSED.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from harness.errors import ProtocolError
from harness.faults.proxy_protocol import original_sender
from harness.stack.defects import Defect
from harness.stack.plan import Address, Plan
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp

CACHE_SIZE = 4096
"""Remembered answers and client regions (cleared when full)."""


class Responder:
    """Answers with dnspython's message code, and remembers what it answered.

    Why a packet cache: the reply is a function of the query's bytes after its ID
    and of the client's edge, and every client of a region asks the same question,
    so a burst of calls would otherwise build the same reply from scratch per call.
    """

    def __init__(self, plan: Plan, *, ignores_region: bool = False) -> None:
        self.plan = plan
        self.ignores_region = ignores_region
        self.endpoint = dns.name.from_text(plan.topology.global_endpoint)
        self.zone = self.endpoint.parent()
        self.ttl = plan.topology.dns_ttl_s
        self.edges: dict[str, str] = {}
        self.replies: dict[tuple[bytes, str], bytes | None] = {}
        # One A record set per edge, built once (rrset.from_text parses text each time).
        self.records = {
            edge: dns.rrset.from_text(
                self.endpoint,
                self.ttl,
                dns.rdataclass.IN,
                dns.rdatatype.A,
                plan.edge_public(edge)[0],
            )
            for edge in plan.edges
        }

    def edge_for(self, client_ip: str) -> str:
        edge = self.edges.get(client_ip)
        if edge is None:
            # A client outside every subnet (e.g. 127.0.0.1) is treated as the topology's
            # client region, so an unconfigured client still reaches an edge.
            region = self.plan.region_of_client(client_ip) or self.plan.topology.client_region
            if self.ignores_region:
                # Defect.DNS_IGNORES_CLIENT_REGION: a GeoDNS table that was never filled in.
                region = self.plan.topology.client_region
            edge = self.plan.topology.nearest_edge(region)
            if len(self.edges) >= CACHE_SIZE:
                self.edges.clear()
            self.edges[client_ip] = edge
        return edge

    def answer(self, wire: bytes, client: Address) -> bytes | None:
        """The reply to ``wire`` from ``client``, or None to stay silent."""
        if len(wire) < 12:
            return self._answer(wire, self.edge_for(client[0]))
        key = (wire[2:], self.edge_for(client[0]))
        if key not in self.replies:
            if len(self.replies) >= CACHE_SIZE:
                self.replies.clear()
            self.replies[key] = self._answer(wire, key[1])
        reply = self.replies[key]
        # The cached reply carries the ID of the query that built it: answer with ours.
        return None if reply is None else wire[:2] + reply[2:]

    def _answer(self, wire: bytes, edge: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR:
            return None  # a response sent to us: never answer one (no loops)
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        if not question.name.is_subdomain(self.zone):
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        if question.name != self.endpoint:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        if question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
            response.answer.append(self.records[edge])
        return response.to_wire()


async def run(ctx: ComponentContext) -> None:
    responder = Responder(ctx.plan, ignores_region=Defect.DNS_IGNORES_CLIENT_REGION in ctx.defects)
    holder: list[UdpEndpoint] = []
    relays = ctx.plan.proxy_header_senders(ctx.component)

    def on_datagram(data: bytes, source: Address) -> None:
        try:
            client, payload = original_sender(data, source, relays)
        except ProtocolError:  # also a header from a sender that is not the hop
            return
        reply = responder.answer(payload, client)
        if reply is not None:
            holder[0].sendto(reply, source)

    endpoint = UdpEndpoint(bind_udp(ctx.plan.dns_bind), on_datagram, ctx.log)
    holder.append(endpoint)
    ctx.ready()
    try:
        await ctx.stop.wait()
    finally:
        endpoint.close()
