"""Data of the fault engine: proxies, toxics, streams, protocols.

Plain dataclasses and Enums. Raw dicts exist only at the HTTP boundary, in
``to_json``/``from_json`` here and in :mod:`harness.faults.api.server`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

AttributeValue = int | float


class Backend(StrEnum):
    """Which server carries a link: a real Toxiproxy, or the built-in hop engine."""

    TOXIPROXY = "toxiproxy"
    BUILTIN = "builtin"


class Protocol(StrEnum):
    """Transport a proxy carries. ``tcp`` is Toxiproxy's only kind; ``udp`` is our extension."""

    TCP = "tcp"
    UDP = "udp"


class Stream(StrEnum):
    """Which direction a toxic impairs (Toxiproxy naming).

    ``upstream`` is client -> server, ``downstream`` server -> client. ``both`` is our
    extension: one toxic, stored once, applied to each direction with its own state and RNG.
    """

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"

    def directions(self) -> tuple[Direction, ...]:
        if self is Stream.BOTH:
            return (Direction.UPSTREAM, Direction.DOWNSTREAM)
        return (Direction(self.value),)


class Direction(StrEnum):
    """One real direction of traffic through a hop (a stream minus ``both``)."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class ProxyProtocolVersion(StrEnum):
    """HAProxy PROXY protocol header a UDP proxy prepends upstream (extension)."""

    V2 = "v2"


@dataclass(frozen=True)
class ToxicConfig:
    """One toxic as the API sees it; ``attributes`` are already validated and complete."""

    name: str
    type: str
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = 1.0
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream.value,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToxicConfig:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=Stream(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class ProxyConfig:
    """One proxy (a hop on one link) as the API sees it.

    ``capture`` is the ring size of the optional capture (0 = off) and
    ``flow_idle_timeout`` the seconds after which an idle UDP flow is forgotten, and
    ``max_flows`` how many flows (one upstream socket each) a UDP proxy keeps at most.
    """

    name: str
    listen: str
    upstream: str
    enabled: bool = True
    protocol: Protocol = Protocol.TCP
    proxy_protocol: ProxyProtocolVersion | None = None
    capture: int = 0
    flow_idle_timeout: float = 60.0
    max_flows: int = 4096

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "protocol": self.protocol.value,
            "capture": self.capture,
        }
        if self.protocol is Protocol.UDP:
            data["proxy_protocol"] = self.proxy_protocol.value if self.proxy_protocol else None
            data["flow_idle_timeout"] = self.flow_idle_timeout
            data["max_flows"] = self.max_flows
        return data


def split_host_port(address: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port``; raise ValueError on anything else."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} in {address!r} is out of range")
    return host, number


def join_host_port(host: str, port: int) -> str:
    """Inverse of :func:`split_host_port` (brackets IPv6 like Go's net.JoinHostPort)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def split_ms(ms: float, integers: bool) -> tuple[float, float]:
    """Split a round trip into (upstream, downstream) one-way delays that sum to ``ms``."""
    if not integers:
        return ms / 2, ms / 2
    up = math.ceil(ms / 2)
    return up, round(ms) - up
