"""The compact deployment: two regions, each with one edge and one DC, laid out in 127.X.0.0/16."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

GLOBAL_NAME = "media.peer-compact.test"
MEDIA_PORT = 3478


@dataclass(frozen=True)
class RegionPlan:
    name: str
    client_subnet: str
    edge: str
    edge_ip: str
    dc: str
    dc_ip: str


@dataclass(frozen=True)
class Plan:
    base: str  # "127.X"
    regions: tuple[RegionPlan, ...]

    @property
    def gateway_ip(self) -> str:
        return f"{self.base}.0.10"

    @property
    def dns_addr(self) -> tuple[str, int]:
        return (f"{self.base}.0.53", 53)

    @property
    def client_ip(self) -> str:
        return f"{self.base}.10.10"  # a client of the first region

    def latency_map(self) -> dict[str, Any]:
        """The true map: 30 ms to the DC of the edge's own region, 70 ms across (ROUTE-2)."""
        edges = {
            r.edge_ip: {other.dc: 30 if other is r else 70 for other in self.regions}
            for r in self.regions
        }
        return {"version": "peer-true-1", "default_dc": self.regions[0].dc, "edges": edges}


def plan(base: str) -> Plan:
    octets = base.split(".")
    if (
        len(octets) != 2
        or octets[0] != "127"
        or not octets[1].isdigit()
        or not 0 < int(octets[1]) < 255
    ):
        raise ValueError(f"--base-ip must look like 127.X with X in 1..254, got {base!r}")
    regions = tuple(
        RegionPlan(
            name=name,
            client_subnet=str(ipaddress.ip_network(f"{base}.{10 + i}.0/24")),
            edge=f"edge-{name}",
            edge_ip=f"{base}.{20 + i}.1",
            dc=f"dc-{name}",
            dc_ip=f"{base}.{100 + i}.1",
        )
        for i, name in enumerate(("us", "eu"))
    )
    return Plan(base, regions)
