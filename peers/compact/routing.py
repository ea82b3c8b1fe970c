"""The latency map and the routing function gateway and edges share (specs/routing.md)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class InvalidMap(ValueError):
    """A latency map that fails ROUTE-2/ROUTE-4; the component keeps its old map (ROUTE-4)."""


def canonical_ip(text: str) -> str | None:
    """RFC 5952 / dotted-quad text of an address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class LatencyMap:
    """One validated map version; immutable, so swapping the reference is atomic (ROUTE-5)."""

    document: dict[str, Any]  # exactly what was loaded: GET returns it, PUT accepts it (CTL-6)
    version: str
    default_dc: str
    edges: dict[str, dict[str, float]]  # canonical edge IP -> DC -> ms

    def route(self, edge_ip: str) -> str:
        """ROUTE-3: the lowest-latency DC for the edge, ties to the smallest id; else default_dc."""
        canonical = canonical_ip(edge_ip)
        latencies = self.edges.get(canonical) if canonical is not None else None
        if not latencies:
            return self.default_dc
        return min(latencies.items(), key=lambda item: (item[1], item[0]))[0]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_map(document: object, known_dcs: frozenset[str] | None = None) -> LatencyMap:
    """Validate a map, naming the offending field: schemas/latency-map.schema.json, edge keys
    that are IP addresses (ROUTE-2) and, given ``known_dcs``, only DCs the component knows
    (ROUTE-4: refused now rather than failing calls later)."""
    if not isinstance(document, dict):
        raise InvalidMap("the map must be a JSON object")
    extra = set(document) - {"version", "default_dc", "edges"}
    if extra:
        raise InvalidMap(f"unknown field(s) {sorted(extra)}")
    for field in ("version", "default_dc"):
        value = document.get(field)
        if not isinstance(value, str) or not _ID.match(value):
            raise InvalidMap(f"{field}: expected a string of 1..64 [A-Za-z0-9._-], got {value!r}")
    default_dc = document["default_dc"]
    if known_dcs is not None and default_dc not in known_dcs:
        raise InvalidMap(f"default_dc: unknown DC {default_dc!r}, known {sorted(known_dcs)}")
    edges = document.get("edges")
    if not isinstance(edges, dict):
        raise InvalidMap("edges: expected an object of edge IP -> {DC: ms}")
    table: dict[str, dict[str, float]] = {}
    for edge, latencies in edges.items():
        canonical = canonical_ip(edge)
        if canonical is None:  # ROUTE-2: the keys are edge IP addresses
            raise InvalidMap(f"edges: key {edge!r} is not an IP address")
        if not isinstance(latencies, dict) or not latencies:
            raise InvalidMap(f"edges.{edge}: expected a non-empty object of DC -> ms")
        row: dict[str, float] = {}
        for dc, ms in latencies.items():
            if not _ID.match(dc):
                raise InvalidMap(f"edges.{edge}: DC id {dc!r} is not 1..64 [A-Za-z0-9._-]")
            if known_dcs is not None and dc not in known_dcs:
                raise InvalidMap(f"edges.{edge}: unknown DC {dc!r}, known {sorted(known_dcs)}")
            if not _number(ms) or ms < 0:
                raise InvalidMap(f"edges.{edge}.{dc}: expected a number >= 0, got {ms!r}")
            row[dc] = float(ms)
        table[canonical] = row
    return LatencyMap(document, document["version"], document["default_dc"], table)
