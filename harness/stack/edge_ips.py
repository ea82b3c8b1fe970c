"""Which ``edge_ip`` a session.create may name (SIG-18): the client-facing address of an edge.

ROUTE-3 sends an address missing from the latency map to ``default_dc``; that
fallback exists for an edge the map does not list yet. A request naming no edge
at all (0.0.0.0, 255.255.255.255, ::1, 8.8.8.8, a private address that is not
ours) would otherwise get a session in the default DC that no check can ever
reach through an edge: the gateway and the DC refuse it instead.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from harness.stack.plan import Plan


def _canonical(text: str) -> str | None:
    """The canonical text form (ROUTE-2) of an IP address, None when ``text`` is none."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class EdgeAddresses:
    """The client-facing addresses of a stack's edges, canonical (``edge name`` by address)."""

    by_address: dict[str, str]

    @classmethod
    def of(cls, plan: Plan) -> EdgeAddresses:
        found: dict[str, str] = {}
        for edge in plan.edges:
            address = _canonical(plan.edge_public(edge)[0])
            assert address is not None, "the plan's edge addresses are IP addresses"
            found[address] = edge
        return cls(found)

    def edge(self, edge_ip: str | None) -> str | None:
        """The edge whose client-facing address ``edge_ip`` is, None for any other text."""
        if edge_ip is None:
            return None
        # The usual request names an edge in canonical form already: a canonical text is
        # its own canonical form, so the dictionary answers without ipaddress's parse
        # (a visible share of the gateway's and handler's CPU per call).
        known = self.by_address.get(edge_ip)
        if known is not None:
            return known
        address = _canonical(edge_ip)
        return None if address is None else self.by_address.get(address)

    def knows(self, edge_ip: str | None) -> bool:
        return self.edge(edge_ip) is not None

    def refusal(self, edge_ip: str | None) -> str:
        """The error message for an ``edge_ip`` that names no edge (it names the field, SIG-6)."""
        known = ", ".join(sorted(self.by_address)) or "none"
        return (
            f"edge_ip: {edge_ip!r} is not the address of an edge of this service (SIG-18); "
            f"edges: {known}"
        )
