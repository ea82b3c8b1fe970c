"""The specs' timing bounds, computed from the emulated world instead of written as numbers.

- TOPO-4: the client-DC round trip over the media path, the physical floor.
- RACE-4: a call whose signaling reaches the DC ``D`` ms after its check connects within
  ``D + RTT_media + Tp + 50 ms``.
- FB-5: a call whose routes diverged connects within ``RTT_media + 2 Tp + 50 ms`` after
  ``session.created``.
- RACE-3: the ingress hold H (250 ms by default).

A :class:`World` holds the one-way latencies a client of the reference stack meets;
:meth:`World.from_topology` reads them from the topology (TOPO-2) and the target's limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.client.media import pacing_interval_at_s
from harness.stack.topology import Topology
from harness.target.model import Limits

SLACK_MS = 50.0
"""The fixed allowance of RACE-4 and FB-5 (processing, store, scheduling)."""
HOLD_MS = 250.0
"""RACE-3's default hold H."""


@dataclass(frozen=True)
class World:
    """One-way latencies (ms) on the paths of a client of ``region``; TOPO-2 links."""

    region: str
    edge: str
    dc: str
    """The DC the true map routes ``edge`` to (the routing bet's DC)."""
    client_edge_ms: float
    edge_dc_ms: float
    client_gateway_ms: float
    gateway_dc_ms: float
    dc_kv_ms: float
    client_dns_ms: float
    pacing_ms: float
    hold_ms: float = 0.0
    """RACE-3's H as the target declares it (``[limits].hold_ms``); 0 = no hold."""

    @classmethod
    def from_topology(cls, topology: Topology, limits: Limits, region: str | None = None) -> World:
        name = region or topology.client_region
        edge = topology.nearest_edge(name)
        dc = topology.true_route(edge)
        latency = topology.latency
        return cls(
            region=name,
            edge=edge,
            dc=dc,
            client_edge_ms=float(latency.client_edge[edge]),
            edge_dc_ms=float(latency.edge_dc[edge][dc]),
            client_gateway_ms=float(latency.client_gateway),
            gateway_dc_ms=float(latency.gateway_dc[dc]),
            dc_kv_ms=float(latency.dc_kv[dc]),
            client_dns_ms=float(latency.client_dns),
            pacing_ms=float(limits.pacing_ms),
            hold_ms=float(limits.hold_ms),
        )

    @property
    def media_one_way_ms(self) -> float:
        return self.client_edge_ms + self.edge_dc_ms

    @property
    def media_rtt_ms(self) -> float:
        """TOPO-4: the floor of any connect."""
        return 2 * self.media_one_way_ms

    @property
    def signaling_one_way_ms(self) -> float:
        return self.client_gateway_ms + self.gateway_dc_ms

    def signaling_lag_ms(self, extra_signaling_ms: float = 0.0) -> float:
        """RACE-4's D: how long after the first check the request reaches the DC."""
        return max(0.0, self.signaling_one_way_ms + extra_signaling_ms - self.media_one_way_ms)

    @property
    def rtt_floor_ms(self) -> float:
        """TOPO-4's physical floor of a connect, for "nothing is faster than" checks."""
        return self.media_rtt_ms

    def race_floor_ms(self, extra_signaling_ms: float = 0.0) -> float:
        """No call connects before its session exists: D + RTT_media after the first check."""
        return self.signaling_lag_ms(extra_signaling_ms) + self.media_rtt_ms

    def race_bound_ms(self, extra_signaling_ms: float = 0.0) -> float:
        return race_bound_ms(self.signaling_lag_ms(extra_signaling_ms), self.media_rtt_ms,
                             self.pacing_ms)  # fmt: skip


def race_bound_ms(d_ms: float, media_rtt_ms: float, pacing_ms: float) -> float:
    """RACE-4: ``D + RTT_media + P(D) + 50 ms``, P(D) the pacing interval at D (STUN-30)."""
    interval_ms = 1000 * pacing_interval_at_s(d_ms / 1000, pacing_ms / 1000)
    return d_ms + media_rtt_ms + interval_ms + SLACK_MS


def fallback_bound_ms(media_rtt_ms: float, pacing_ms: float) -> float:
    """FB-5: ``RTT_media + 2 x Tp + 50 ms`` from ``session.created`` to connected."""
    return media_rtt_ms + 2 * pacing_ms + SLACK_MS
