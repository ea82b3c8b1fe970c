"""Versioned latency maps and the deterministic ``route`` function (ROUTE-1..5)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.errors import UsageError
from harness.specs_data import load_schema


class LatencyMapError(UsageError):
    """A latency map does not parse or does not match specs/schemas/latency-map.schema.json.

    The message names the source and the offending field (ROUTE-4).
    """


def canonical_ip(address: str) -> str:
    """Canonical text form of an IP address (ROUTE-2): dotted quad, RFC 5952 for IPv6."""
    return str(ipaddress.ip_address(address))


ROUTE_CACHE_SIZE = 4096
"""Answers remembered per map. Edges route their own one or two IPs; the gateway
routes whatever ``edge_ip`` clients send, so the memory is bounded."""


@dataclass(frozen=True)
class LatencyMap:
    """One immutable map version: per edge IP, estimated latency (ms) to each DC."""

    version: str
    default_dc: str
    edges: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    _routes: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """route() answers by the exact ``edge_ip`` text. Safe because a LatencyMap never
    changes (a new version is a new object, ROUTE-5) and route() is a pure function
    of the map and the text; so the cache is per (version, ip) by construction."""

    def route(self, edge_ip: str) -> str:
        """The DC both gateway and edge pick for checks sent to ``edge_ip`` (ROUTE-3)."""
        routes = self._routes
        known = routes.get(edge_ip)
        if known is None:
            if len(routes) >= ROUTE_CACHE_SIZE:
                routes.clear()
            known = routes[edge_ip] = self._route(edge_ip)
        return known

    def _route(self, edge_ip: str) -> str:
        try:
            key = canonical_ip(edge_ip)
        except ValueError:
            return self.default_dc
        latencies = self.edges.get(key)
        if not latencies:
            return self.default_dc
        # Ties go to the smallest DC id so that both sides agree whatever the dict order.
        return min(latencies.items(), key=lambda item: (item[1], item[0]))[0]

    def dcs(self) -> set[str]:
        names = {self.default_dc}
        for latencies in self.edges.values():
            names.update(latencies)
        return names

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "default_dc": self.default_dc,
            "edges": {edge: dict(latencies) for edge, latencies in self.edges.items()},
        }

    @classmethod
    def from_json(cls, body: Any, *, source: str = "latency map") -> LatencyMap:
        """Validate against the schema and build the map; raises :class:`LatencyMapError`."""
        import jsonschema  # here: only the edges and the gateway load maps (see topology.py)

        validator = jsonschema.Draft202012Validator(load_schema("latency-map"))
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in errors
            )
            raise LatencyMapError(
                f"{source} is not a valid latency map: {details}",
                hint="see specs/routing.md (ROUTE-2) and specs/schemas/latency-map.schema.json",
            )
        edges: dict[str, Mapping[str, float]] = {}
        for edge, latencies in body["edges"].items():
            try:
                key = canonical_ip(edge)
            except ValueError as error:
                raise LatencyMapError(
                    f"{source}: edge key {edge!r} is not an IP address",
                    hint="key each edge by the IP address clients send checks to",
                ) from error
            edges[key] = MappingProxyType({dc: float(ms) for dc, ms in latencies.items()})
        return cls(body["version"], body["default_dc"], MappingProxyType(edges))

    @classmethod
    def load(cls, path: Path) -> LatencyMap:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise LatencyMapError(
                f"cannot read latency map {path}: {error.strerror}",
                hint="check the path; maps are JSON files",
            ) from error
        except ValueError as error:
            raise LatencyMapError(
                f"latency map {path} is not JSON: {error}", hint="fix the JSON syntax"
            ) from error
        return cls.from_json(body, source=str(path))


def route(latency_map: LatencyMap, edge_ip: str) -> str:
    """``route(map, edge_ip)`` of ROUTE-3, as a free function for readers of the spec."""
    return latency_map.route(edge_ip)
