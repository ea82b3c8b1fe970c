"""Everything in one process: DNS, gateway, two edges, two DCs, started and stopped together."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from peers.compact.dc import DataCenter, DcAddresses
from peers.compact.dns_server import DnsResponder, Region
from peers.compact.edge import Edge
from peers.compact.gateway import Gateway
from peers.compact.routing import load_map
from peers.compact.world import GLOBAL_NAME, MEDIA_PORT, Plan


@dataclass(frozen=True)
class Settings:
    hold_ms: int
    session_ttl_ms: int
    signaling_timeout_ms: int
    dns_ttl_s: int = 60


class Deployment:
    def __init__(self, world: Plan, settings: Settings) -> None:
        self.world = world
        self.dcs: dict[str, DataCenter] = {
            r.dc: DataCenter(
                r.dc,
                DcAddresses(media=(r.dc_ip, MEDIA_PORT), control=(r.dc_ip, 8080)),
                settings.session_ttl_ms,
                settings.hold_ms,
            )
            for r in world.regions
        }
        # Gateway and edges start from the same map (the "educated bet"); each keeps its own
        # copy afterwards so that the control API can diverge them (CTL-3, CTL-6).
        true_map = load_map(world.latency_map())
        self.edges = [
            Edge(r.edge, (r.edge_ip, MEDIA_PORT), (r.edge_ip, 9000), true_map, self.dcs)
            for r in world.regions
        ]
        self.gateway = Gateway(
            (world.gateway_ip, 8443),
            (world.gateway_ip, 9000),
            true_map,
            self.dcs,
            settings.signaling_timeout_ms,
            frozenset(r.edge_ip for r in world.regions),
        )
        regions = [Region(ipaddress.IPv4Network(r.client_subnet), r.edge_ip) for r in world.regions]
        self.dns = DnsResponder(world.dns_addr, GLOBAL_NAME, regions, settings.dns_ttl_s)
        self._started: list[DataCenter | Edge | Gateway | DnsResponder] = []

    async def start(self) -> None:
        """Bind everything; on any failure, close what was bound and re-raise."""
        try:
            for dc in self.dcs.values():
                await dc.start(self.dcs)
                self._started.append(dc)
            for edge in self.edges:
                await edge.start()
                self._started.append(edge)
            await self.gateway.start()
            self._started.append(self.gateway)
            await self.dns.start()
            self._started.append(self.dns)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        while self._started:
            await self._started.pop().stop()
