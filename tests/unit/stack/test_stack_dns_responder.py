"""The global endpoint's DNS answers, through dnspython messages (RFC 1035)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode

from harness.stack.components.dns_responder import Responder
from harness.stack.plan import Plan
from harness.stack.topology import default_topology


def _ask(responder: Responder, name: str, rdtype: str, source: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    wire = responder.answer(query.to_wire(), (source, 5353))
    assert wire is not None
    return dns.message.from_wire(wire)


def test_a_record_of_the_nearest_edge_per_client_region() -> None:
    plan = Plan(default_topology())
    responder = Responder(plan)
    for region, edge in (("us", "edge-us"), ("eu", "edge-eu"), ("ap", "edge-ap")):
        reply = _ask(responder, "media.ullc.test", "A", plan.client_ip(region))
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.flags & dns.flags.AA
        assert reply.answer[0][0].address == plan.edge_public(edge)[0]
        assert reply.answer[0].ttl == default_topology().dns_ttl_s
    # Outside every client subnet: the topology's client region.
    reply = _ask(responder, "media.ullc.test", "A", "127.0.0.1")
    assert reply.answer[0][0].address == plan.edge_public("edge-us")[0]


def test_other_names_and_types() -> None:
    plan = Plan(default_topology())
    responder = Responder(plan)
    source = plan.client_ip()
    reply = _ask(responder, "media.ullc.test", "AAAA", source)
    assert reply.rcode() == dns.rcode.NOERROR
    assert not reply.answer
    assert _ask(responder, "x.ullc.test", "A", source).rcode() == dns.rcode.NXDOMAIN
    assert _ask(responder, "example.org", "A", source).rcode() == dns.rcode.REFUSED
    assert responder.answer(b"\x01\x02garbage", (source, 1)) is None


def test_a_remembered_reply_carries_each_querys_own_id() -> None:
    plan = Plan(default_topology())
    responder = Responder(plan)
    for region, edge in (("us", "edge-us"), ("eu", "edge-eu"), ("us", "edge-us")):
        for _ in range(2):
            query = dns.message.make_query("media.ullc.test", "A")
            wire = responder.answer(query.to_wire(), (plan.client_ip(region), 5353))
            assert wire is not None
            reply = dns.message.from_wire(wire)
            assert reply.id == query.id
            assert reply.answer[0][0].address == plan.edge_public(edge)[0]
