"""An edge cluster: route checks by latency map, relay both ways, keep the client's address.

The client-facing port (3478) routes with ``route(map, own public IP)`` (ROUTE-1);
each pinned port (3500+d) goes to its DC whatever the map says (FB-1). Datagrams
arrive from the client-edge hop with a PROXY v2 header naming the client; the
edge forwards them to the DC's hop with its own v2 header (client -> edge public
address), so the bot's XOR-MAPPED-ADDRESS is the client's real address.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.errors import ProtocolError
from harness.faults.proxy_protocol import UntrustedProxyHeaderError, encode_v2, original_sender
from harness.stack.control import MapHolder, control_routes, start_site
from harness.stack.defects import Defect
from harness.stack.maps import true_map
from harness.stack.plan import MEDIA_PORT, Address
from harness.stack.relay_seal import read_key, seal
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp

FLOW_IDLE_S = 60.0


@dataclass
class _Flow:
    endpoint: UdpEndpoint
    dc: str
    client: Address
    header: bytes
    """The v2 header this flow sends (client -> edge public address): a flow's first
    datagram fixes both ends, so it is encoded once, not per datagram."""
    target: Address
    last: float = field(default_factory=time.monotonic)


class Edge:
    def __init__(self, ctx: ComponentContext) -> None:
        self.ctx = ctx
        self.plan = ctx.plan.edges[ctx.name]
        self.public_ip = ctx.plan.edge_public(ctx.name)[0]
        # ROUTE-4. Defect.MAPS_NAMING_UNKNOWN_DCS_ACCEPTED: the schema is all that is checked.
        unknown_accepted = Defect.MAPS_NAMING_UNKNOWN_DCS_ACCEPTED in ctx.defects
        self.maps = MapHolder(
            true_map(ctx.plan), known_dcs=None if unknown_accepted else frozenset(ctx.plan.dcs)
        )
        # Flow table: (local port, hop flow address, DC) -> the socket towards that DC.
        self.flows: dict[tuple[int, Address, str], _Flow] = {}
        self.listeners: dict[int, UdpEndpoint] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.dcs = frozenset(ctx.plan.dcs)
        self.relays = ctx.plan.proxy_header_senders(ctx.component)
        self.seal_key = read_key(ctx.run_dir)

    def _route(self) -> str:
        current = self.maps.current
        if Defect.EDGE_TIES_BY_MAP_ORDER in self.ctx.defects:
            return _first_smallest(current.edges.get(self.public_ip, {}), current.default_dc)
        return current.route(self.public_ip)

    def on_datagram(self, port: int, pinned: str | None, data: bytes, source: Address) -> None:
        try:
            client, payload = original_sender(data, source, self.relays)
        except UntrustedProxyHeaderError:
            self.counters["discard-untrusted-proxy-header"] += 1
            return
        except ProtocolError:
            self.counters["discard-bad-proxy-header"] += 1
            return
        # One map reference per decision (ROUTE-5); pinned ports ignore the map (FB-1).
        dc = pinned or self._route()
        if dc not in self.dcs:
            self.counters["discard-unknown-dc"] += 1
            return
        key = (port, source, dc)
        flow = self.flows.get(key)
        if flow is None or flow.client != client:
            # A new flow, or (in theory) another client behind the same hop flow address.
            flow = self._open_flow(key, client)
        flow.last = time.monotonic()
        flow.endpoint.sendto(flow.header + payload, flow.target)
        self.counters[dc] += 1

    def _open_flow(self, key: tuple[int, Address, str], client: Address) -> _Flow:
        port, source, dc = key
        old = self.flows.pop(key, None)
        if old is not None:
            old.endpoint.close()
        sock = bind_udp((self.plan.bind_ip, 0))
        listener = self.listeners[port]

        def back(data: bytes, _from: Address) -> None:
            listener.sendto(data, source)

        endpoint = UdpEndpoint(sock, back, self.ctx.log)
        named = client
        if Defect.EDGE_FORGETS_CLIENT_ADDRESS in self.ctx.defects:
            # The bug: the relay names its own socket as the source, as a NAT would.
            named = endpoint.address
        # Sealed: the edge-DC hop relays anything sent to it, forged headers included.
        header = seal(encode_v2(named, (self.public_ip, port)), self.seal_key)
        flow = self.flows[key] = _Flow(endpoint, dc, client, header, flow_target(self, dc))
        return flow

    def flow_count(self) -> dict[str, object]:
        # Counted per DC name on the packet path (no f-string per datagram), shown as "to-<dc>".
        counters = {
            (f"to-{name}" if name in self.dcs else name): count
            for name, count in self.counters.items()
        }
        return {"flows": len(self.flows), "counters": counters}

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            now = time.monotonic()
            for key in [k for k, f in self.flows.items() if now - f.last > FLOW_IDLE_S]:
                self.flows.pop(key).endpoint.close()


def _first_smallest(latencies: Mapping[str, float], default_dc: str) -> str:
    """Defect.EDGE_TIES_BY_MAP_ORDER: the smallest latency, ties to the first key listed."""
    if not latencies:
        return default_dc
    return min(latencies.items(), key=lambda item: item[1])[0]


def flow_target(edge: Edge, dc: str) -> Address:
    return edge.ctx.plan.dial(f"edge-dc.{edge.ctx.name}.{dc}")


async def run(ctx: ComponentContext) -> None:
    edge = Edge(ctx)
    ports: dict[int, str | None] = {MEDIA_PORT: None}
    ports.update({port: dc for dc, port in edge.plan.pin_ports.items()})
    for port, pinned in ports.items():

        def handler(
            data: bytes, source: Address, port: int = port, pinned: str | None = pinned
        ) -> None:
            edge.on_datagram(port, pinned, data, source)

        edge.listeners[port] = UdpEndpoint(bind_udp((edge.plan.bind_ip, port)), handler, ctx.log)
    app = web.Application()
    boot_version = edge.maps.current.version

    def health_extra() -> dict[str, Any]:
        extra = edge.flow_count()
        if Defect.EDGE_HEALTH_REPORTS_BOOT_MAP in ctx.defects:
            # The bug: health reads the version from the start-up config, not the map in use.
            extra["map_version"] = boot_version
        return extra

    control_routes(
        app,
        component=ctx.name,
        role="edge",
        maps=edge.maps,
        log=ctx.log,
        health_extra=health_extra,
    )
    runner = await start_site(app, *edge.plan.control)
    sweeper = asyncio.create_task(edge.sweep())
    ctx.ready()
    try:
        await ctx.stop.wait()
    finally:
        sweeper.cancel()
        for listener in edge.listeners.values():
            listener.close()
        for flow in edge.flows.values():
            flow.endpoint.close()
        await runner.cleanup()
