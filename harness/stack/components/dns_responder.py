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
from harness.faults.proxy_protocol import decode_v2
from harness.stack.plan import Address, Plan
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp


class Responder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.endpoint = dns.name.from_text(plan.topology.global_endpoint)
        self.zone = self.endpoint.parent()
        self.ttl = plan.topology.dns_ttl_s

    def edge_for(self, client_ip: str) -> str:
        # A client outside every subnet (e.g. 127.0.0.1) is treated as the topology's
        # client region, so an unconfigured client still reaches an edge.
        region = self.plan.region_of_client(client_ip) or self.plan.topology.client_region
        return self.plan.topology.nearest_edge(region)

    def answer(self, wire: bytes, client: Address) -> bytes | None:
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
            edge = self.edge_for(client[0])
            response.answer.append(
                dns.rrset.from_text(
                    self.endpoint,
                    self.ttl,
                    dns.rdataclass.IN,
                    dns.rdatatype.A,
                    self.plan.edge_public(edge)[0],
                )
            )
        return response.to_wire()


async def run(ctx: ComponentContext) -> None:
    responder = Responder(ctx.plan)
    holder: list[UdpEndpoint] = []

    def on_datagram(data: bytes, source: Address) -> None:
        try:
            header, payload = decode_v2(data)
        except ProtocolError:
            return
        client = header.src if header is not None and header.src is not None else source
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
