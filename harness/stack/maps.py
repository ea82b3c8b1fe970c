"""Latency map versions of a stack (TOPO-3): the true map and named alternatives.

Maps key edges by the IP clients send checks to (ROUTE-2), which depends on the
address plan, so they are generated per stack rather than stored in the topology.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

from harness.routing import LatencyMap
from harness.stack.plan import Plan
from harness.stack.topology import ALL_TO_PREFIX, TRUE_MAP_VERSION


def true_map(plan: Plan) -> LatencyMap:
    """The map derived from the edge-DC links: the one gateway and edges start with."""
    return _build(plan, TRUE_MAP_VERSION, {})


STALE_MAP_VERSION = "stale"


def stale_map(plan: Plan) -> LatencyMap:
    """A map on which every edge's nearest DC is the next DC after its true one.

    Only for Defect.GATEWAY_ON_OTHER_MAP: the gateway boots on it while the edges
    run the true map, so every ULLC call's bet misses (ROUTE-7).
    """
    topology = plan.topology
    dcs = sorted(topology.dcs)
    overrides = {}
    for edge in topology.edges:
        table = topology.latency.edge_dc[edge]
        nearest = min(sorted(table), key=lambda dc: table[dc])
        overrides[edge] = {dcs[(dcs.index(nearest) + 1) % len(dcs)]: 0.0}
    return _build(plan, STALE_MAP_VERSION, overrides)


def latency_maps(plan: Plan) -> dict[str, LatencyMap]:
    """Every version a stack knows, by name.

    - ``true``: edge-DC latencies of the topology;
    - ``all-to-<dc>``: every edge routes to ``<dc>`` (a pair of these on gateway and
      edge gives a divergence between any two DCs, FB-6);
    - the topology's own ``latency_maps`` entries, over the true map.
    """
    topology = plan.topology
    maps = {TRUE_MAP_VERSION: true_map(plan)}
    for dc in topology.dcs:
        overrides = {edge: {dc: 0.0} for edge in topology.edges}
        maps[f"{ALL_TO_PREFIX}{dc}"] = _build(plan, f"{ALL_TO_PREFIX}{dc}", overrides, dc)
    for version, per_edge in topology.latency_maps.items():
        maps[version] = _build(plan, version, {e: dict(t) for e, t in per_edge.items()})
    return maps


def _build(
    plan: Plan,
    version: str,
    overrides: dict[str, dict[str, float]],
    default_dc: str | None = None,
) -> LatencyMap:
    topology = plan.topology
    edges = {}
    for edge in topology.edges:
        table = overrides.get(edge, dict(topology.latency.edge_dc[edge]))
        edges[plan.edge_public(edge)[0]] = MappingProxyType(dict(table))
    return LatencyMap(version, default_dc or topology.default_dc, MappingProxyType(edges))


def write_maps(plan: Plan, directory: Path) -> dict[str, Path]:
    """Write every version as ``<version>.json`` (CTL-3 bodies) and return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for version, latency_map in latency_maps(plan).items():
        path = directory / f"{version}.json"
        path.write_text(json.dumps(latency_map.to_json(), indent=2) + "\n", encoding="utf-8")
        written[version] = path
    return written
