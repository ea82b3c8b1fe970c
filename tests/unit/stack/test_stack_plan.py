"""The address plan and the latency maps derived from a topology (TOPO-7..9)."""

from __future__ import annotations

import pytest

from harness.routing import LatencyMap
from harness.stack.maps import latency_maps, true_map
from harness.stack.plan import Plan, Transport
from harness.stack.topology import default_topology, relocate


def test_every_bound_address_is_unique_and_inside_the_network() -> None:
    plan = Plan(relocate(default_topology(), "127.123.0.0/16"))
    binds = [(transport, address) for _, transport, address in plan.binds()]
    assert len(binds) == len(set(binds))
    assert all(address[0].startswith("127.123.") for _, address in binds)
    # Every component has an address of its own (TOPO-7).
    ips = [component.ip for component in plan.components()]
    assert len(ips) == len(set(ips))


def test_link_names_follow_topo_8() -> None:
    plan = Plan(default_topology())
    names = {link.name for link in plan.links}
    assert {"client-dns", "client-gateway", "client-edge.edge-us", "client-edge.edge-us.pin.dc-eu",
            "edge-dc.edge-eu.dc-ap", "gateway-dc.dc-us", "dc-kv.dc-ap"} <= names  # fmt: skip
    assert len(names) == len(plan.links)
    udp = {link.name for link in plan.links if link.transport is Transport.UDP}
    assert "client-edge.edge-us" in udp
    assert "gateway-dc.dc-us" not in udp
    with_header = {link.name for link in plan.links if link.proxy_protocol}
    assert "client-dns" in with_header
    assert "edge-dc.edge-us.dc-us" not in with_header
    assert plan.link("edge-dc.edge-us.dc-eu").latency_ms == 70


def test_true_map_routes_each_edge_to_its_region_and_all_to_maps_diverge() -> None:
    plan = Plan(default_topology())
    maps = latency_maps(plan)
    assert maps["true"] == true_map(plan)
    for edge, dc in (("edge-us", "dc-us"), ("edge-eu", "dc-eu"), ("edge-ap", "dc-ap")):
        ip = plan.edge_public(edge)[0]
        assert maps["true"].route(ip) == dc
        for target in ("dc-us", "dc-eu", "dc-ap"):
            assert maps[f"all-to-{target}"].route(ip) == target
    assert maps["us-to-eu"].route(plan.edge_public("edge-us")[0]) == "dc-eu"
    # Every version is a valid ROUTE-2 document.
    for latency_map in maps.values():
        assert LatencyMap.from_json(latency_map.to_json()) == latency_map


def test_client_regions_and_pins() -> None:
    plan = Plan(default_topology())
    assert plan.region_of_client(plan.client_ip("eu")) == "eu"
    assert plan.region_of_client("127.0.0.1") is None
    assert plan.edge_by_public_ip(plan.edge_public("edge-ap")[0]) == "edge-ap"
    pins = {plan.pin_address("edge-us", dc) for dc in ("dc-us", "dc-eu", "dc-ap")}
    assert len(pins) == 3


def test_without_hops_peers_dial_the_components_directly() -> None:
    plan = Plan(default_topology(), hops=False)
    assert plan.edge_public("edge-us") == (plan.edges["edge-us"].bind_ip, 3478)


def test_proxy_headers_are_believed_only_from_each_components_relays() -> None:
    from harness.errors import ProtocolError
    from harness.faults.proxy_protocol import encode_v2, original_sender

    plan = Plan(default_topology())
    edge = plan.proxy_header_senders(plan.component("edge-us"))
    ingress = plan.proxy_header_senders(plan.component("dc-eu.ingress"))
    bot = plan.proxy_header_senders(plan.component("dc-eu.bot-0"))
    assert edge == {plan.edge_public("edge-us")[0]}
    assert plan.link("edge-dc.edge-ap.dc-eu").listen[0] in ingress
    assert plan.link("edge-dc.edge-ap.dc-us").listen[0] not in ingress  # another DC's hop
    assert bot == {plan.dcs["dc-eu"].ingress[0]}
    assert not plan.proxy_header_senders(plan.component("gateway"))
    relayed = encode_v2(("127.77.10.10", 5000), ("127.77.20.1", 3478)) + b"check"
    relay = (next(iter(bot)), 40000)
    assert original_sender(relayed, relay, bot) == (("127.77.10.10", 5000), b"check")
    with pytest.raises(ProtocolError, match="not a relay"):
        original_sender(relayed, ("127.0.0.1", 40000), bot)
    # Without a header the sender is who it is, from anywhere.
    assert original_sender(b"check", ("127.0.0.1", 1), bot) == (("127.0.0.1", 1), b"check")
