"""The emulated world of the reference stack (specs/topology.md, TOPO-1..9).

A topology file is JSON checked against specs/schemas/topology.schema.json and
then for cross-references (an edge named in a latency table must exist, ...).
Every error names the file and the field, so a typo is a one-line fix.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.errors import UsageError
from harness.specs_data import load_schema

DEFAULT_NETWORK = "127.77.0.0/16"
DEFAULT_GLOBAL_ENDPOINT = "media.ullc.test"
DEFAULT_TTL_MS = 60_000


class TopologyError(UsageError):
    """A topology file does not parse, breaks its schema or names something that is not there.

    The message names the file and the field (a dotted path); fix that field, see
    specs/topology.md and specs/schemas/topology.schema.json.
    """


@dataclass(frozen=True)
class Region:
    """TOPO-1: a region with its client subnet (assigned by the address plan), edges and DCs."""

    name: str
    edges: tuple[str, ...] = ()
    dcs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Latencies:
    """TOPO-2: one-way latency in ms of every link kind."""

    client_edge: Mapping[str, float]
    edge_dc: Mapping[str, Mapping[str, float]]
    client_gateway: float
    gateway_dc: Mapping[str, float]
    dc_kv: Mapping[str, float]
    client_dns: float = 1.0


@dataclass(frozen=True)
class Topology:
    name: str
    regions: tuple[Region, ...]
    default_dc: str
    client_region: str
    latency: Latencies
    network: str = DEFAULT_NETWORK
    global_endpoint: str = DEFAULT_GLOBAL_ENDPOINT
    bot_instances: int = 2
    session_ttl_ms: int = DEFAULT_TTL_MS
    dns_ttl_s: int = 60
    latency_maps: Mapping[str, Mapping[str, Mapping[str, float]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    description: str = ""
    source: Path | None = None

    @property
    def edges(self) -> tuple[str, ...]:
        """Every edge in file order (the order fixes each edge's addresses, TOPO-7)."""
        return tuple(edge for region in self.regions for edge in region.edges)

    @property
    def dcs(self) -> tuple[str, ...]:
        return tuple(dc for region in self.regions for dc in region.dcs)

    def region(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def region_of_edge(self, edge: str) -> Region:
        return next(region for region in self.regions if edge in region.edges)

    def region_of_dc(self, dc: str) -> Region:
        return next(region for region in self.regions if dc in region.dcs)

    def nearest_edge(self, region_name: str) -> str:
        """TOPO-9: the edge the global endpoint answers for a client of ``region_name``.

        The region's own edge with the smallest client-edge latency; a region without
        edges gets the globally nearest one. Ties go to the earlier edge in file order.
        """
        region = self.region(region_name)
        candidates = region.edges or self.edges
        return min(candidates, key=lambda edge: (self.latency.client_edge[edge], edge))

    def true_route(self, edge: str) -> str:
        """The DC the true map picks for ``edge`` (ROUTE-3 over the edge-DC latencies)."""
        return min(self.latency.edge_dc[edge].items(), key=lambda item: (item[1], item[0]))[0]

    def client_dc_rtt_ms(self, region_name: str | None = None) -> float:
        """TOPO-4: the physical floor of a connect for a client of ``region_name``."""
        edge = self.nearest_edge(region_name or self.client_region)
        dc = self.true_route(edge)
        return 2 * (self.latency.client_edge[edge] + self.latency.edge_dc[edge][dc])

    def home_edge(self, dc: str) -> str:
        """The edge whose pinned port is a DC's media address in sequential mode (TOPO-9).

        An edge of the DC's own region if there is one, else the edge nearest to it.
        """
        region = self.region_of_dc(dc)
        candidates = region.edges or self.edges
        return min(candidates, key=lambda edge: (self.latency.edge_dc[edge][dc], edge))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "network": self.network,
            "global_endpoint": self.global_endpoint,
            "default_dc": self.default_dc,
            "client_region": self.client_region,
            "bot_instances": self.bot_instances,
            "session_ttl_ms": self.session_ttl_ms,
            "dns_ttl_s": self.dns_ttl_s,
            "regions": [
                {"name": r.name, "edges": list(r.edges), "dcs": list(r.dcs)} for r in self.regions
            ],
            "latency_ms": {
                "client_edge": dict(self.latency.client_edge),
                "edge_dc": {edge: dict(dcs) for edge, dcs in self.latency.edge_dc.items()},
                "client_gateway": self.latency.client_gateway,
                "gateway_dc": dict(self.latency.gateway_dc),
                "dc_kv": dict(self.latency.dc_kv),
                "client_dns": self.latency.client_dns,
            },
            "latency_maps": {
                version: {edge: dict(dcs) for edge, dcs in edges.items()}
                for version, edges in self.latency_maps.items()
            },
        }


def _frozen(table: Mapping[str, Any]) -> Mapping[str, float]:
    return MappingProxyType({key: float(value) for key, value in table.items()})


def _check_semantics(body: dict[str, Any], where: str) -> None:
    """Cross-references the schema cannot express; each error names the field path."""

    def fail(path: str, message: str) -> None:
        raise TopologyError(
            f"{where}: {path}: {message}",
            hint="see specs/topology.md (TOPO-1..9) for the rules of a topology file",
        )

    regions = body["regions"]
    names = [region["name"] for region in regions]
    edges = [edge for region in regions for edge in region.get("edges", [])]
    dcs = [dc for region in regions for dc in region.get("dcs", [])]
    for kind, items in (("region", names), ("edge", edges), ("dc", dcs)):
        for item in items:
            if items.count(item) > 1:
                fail("regions", f"{kind} name {item!r} is used twice")
    if set(edges) & set(dcs):
        fail("regions", f"names {sorted(set(edges) & set(dcs))} are both an edge and a DC")
    if not edges:
        fail("regions", "the world has no edge (TOPO-1 needs at least one)")
    if not dcs:
        fail("regions", "the world has no DC (TOPO-1 needs at least one)")
    if len(edges) > 20:
        fail("regions", f"{len(edges)} edges; the address plan holds at most 20 (TOPO-7)")
    if len(dcs) > 50:
        fail("regions", f"{len(dcs)} DCs; the address plan holds at most 50 (TOPO-7)")
    if body["default_dc"] not in dcs:
        fail("default_dc", f"{body['default_dc']!r} is not a DC of any region (DCs: {dcs})")
    if body["client_region"] not in names:
        fail("client_region", f"{body['client_region']!r} is not a region (regions: {names})")
    network = body.get("network", DEFAULT_NETWORK)
    if int(network.split(".")[1]) > 255:
        fail("network", f"{network!r} is not an IPv4 network")

    latency = body["latency_ms"]

    def exact(path: str, table: dict[str, Any], expected: list[str], kind: str) -> None:
        missing = [name for name in expected if name not in table]
        unknown = [name for name in table if name not in expected]
        if missing:
            fail(path, f"no latency for {kind} {missing} (every {kind} needs one)")
        if unknown:
            fail(path, f"{unknown} is not a {kind} of the topology ({kind}s: {expected})")

    exact("latency_ms.client_edge", latency["client_edge"], edges, "edge")
    exact("latency_ms.edge_dc", latency["edge_dc"], edges, "edge")
    for edge, table in latency["edge_dc"].items():
        exact(f"latency_ms.edge_dc.{edge}", table, dcs, "dc")
    exact("latency_ms.gateway_dc", latency["gateway_dc"], dcs, "dc")
    exact("latency_ms.dc_kv", latency["dc_kv"], dcs, "dc")
    for version, per_edge in body.get("latency_maps", {}).items():
        if version == TRUE_MAP_VERSION or version.startswith(ALL_TO_PREFIX):
            fail(f"latency_maps.{version}", "this version name is generated by the stack")
        for edge, table in per_edge.items():
            if edge not in edges:
                fail(f"latency_maps.{version}.{edge}", f"{edge!r} is not an edge ({edges})")
            for dc in table:
                if dc not in dcs:
                    fail(f"latency_maps.{version}.{edge}.{dc}", f"{dc!r} is not a DC ({dcs})")
            if not table:
                fail(f"latency_maps.{version}.{edge}", "an edge entry needs at least one DC")


TRUE_MAP_VERSION = "true"
ALL_TO_PREFIX = "all-to-"


def _check_schema(body: Any, source: str) -> None:
    # Imported here: jsonschema costs a docker component ~0.15 CPU-s to import, and
    # components load a topology the runner has already checked (see load_topology).
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("topology"))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = ".".join(str(part) for part in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TopologyError(
            f"{source}: {path}: {first.message}{more}",
            hint="compare with specs/schemas/topology.schema.json and the default world "
            "(python -m harness.stack.topology prints it)",
        )


def parse_topology(body: Any, *, source: str = "topology", schema: bool = True) -> Topology:
    """Validate ``body`` (decoded JSON) and build a :class:`Topology`.

    ``schema=False`` skips the JSON Schema check (the cross-reference checks still
    run): for a file the runner has validated already.
    """
    if schema:
        _check_schema(body, source)
    _check_semantics(body, source)
    latency = body["latency_ms"]
    return Topology(
        name=body["name"],
        description=body.get("description", ""),
        regions=tuple(
            Region(r["name"], tuple(r.get("edges", [])), tuple(r.get("dcs", [])))
            for r in body["regions"]
        ),
        default_dc=body["default_dc"],
        client_region=body["client_region"],
        network=body.get("network", DEFAULT_NETWORK),
        global_endpoint=body.get("global_endpoint", DEFAULT_GLOBAL_ENDPOINT).rstrip("."),
        bot_instances=body.get("bot_instances", 2),
        session_ttl_ms=body.get("session_ttl_ms", DEFAULT_TTL_MS),
        dns_ttl_s=body.get("dns_ttl_s", 60),
        latency=Latencies(
            client_edge=_frozen(latency["client_edge"]),
            edge_dc=MappingProxyType(
                {edge: _frozen(table) for edge, table in latency["edge_dc"].items()}
            ),
            client_gateway=float(latency["client_gateway"]),
            gateway_dc=_frozen(latency["gateway_dc"]),
            dc_kv=_frozen(latency["dc_kv"]),
            client_dns=float(latency.get("client_dns", 1.0)),
        ),
        latency_maps=MappingProxyType(
            {
                version: MappingProxyType({edge: _frozen(t) for edge, t in per_edge.items()})
                for version, per_edge in body.get("latency_maps", {}).items()
            }
        ),
    )


def load_topology(path: Path, *, schema: bool = True) -> Topology:
    """Read and validate a topology file; :class:`TopologyError` names the file and field.

    ``schema=False``: see :func:`parse_topology`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TopologyError(
            f"cannot read topology file {path}: {error.strerror or error}",
            hint="check the path given to --topology",
        ) from None
    try:
        body = json.loads(text)
    except ValueError as error:
        raise TopologyError(
            f"topology file {path} is not JSON: {error}", hint="fix the JSON syntax at that line"
        ) from None
    topology = parse_topology(body, source=str(path), schema=schema)
    return replace(topology, source=path.resolve())


def default_topology_path() -> Path:
    """The default world shipped with the package (TOPO-10)."""
    return Path(str(files("harness.stack").joinpath("worlds", "default.json")))


def default_topology() -> Topology:
    return load_topology(default_topology_path())


LOOPBACK = "127.0.0.0/8"


def relocate(topology: Topology, network: str, *, within: str = LOOPBACK) -> Topology:
    """The same world laid out in another /16 (TOPO-7), for parallel stacks.

    ``within`` is where the backend may lay stacks out: loopback for local
    processes, a private range for the docker backend's internal networks.
    """
    parsed = ipaddress.ip_network(network)
    if (
        parsed.prefixlen != 16
        or not isinstance(parsed, ipaddress.IPv4Network)
        or not parsed.subnet_of(ipaddress.IPv4Network(within))
    ):
        first = within.split(".")[0]
        raise TopologyError(
            f"network {network!r} is not a /16 inside {within}",
            hint=f"pass something like {first}.78.0.0/16",
        )
    return replace(topology, network=str(parsed))


if __name__ == "__main__":  # pragma: no cover - a convenience for writing topology files
    print(default_topology_path().read_text(encoding="utf-8"))
