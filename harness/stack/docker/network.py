"""Where a docker stack lives: a /16 of 10.0.0.0/8 for its internal network.

The host reaches container addresses on the network's bridge, and the bridge's
own address (the network's gateway) is the client's address: the reference
client on the host binds it, so the DNS responder sees the client's region and
XOR-MAPPED-ADDRESS names it (no NAT: iptables is off).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import TYPE_CHECKING, Any

from harness.stack.docker.entry import PRIVATE
from harness.stack.local.network_claim import NetworkClaim
from harness.stack.network import candidates, choose_network
from harness.stack.topology import Topology, relocate

if TYPE_CHECKING:
    import docker


def taken_networks(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    """Subnets of every Docker network and every host route: a new subnet must miss them all."""
    found: list[ipaddress.IPv4Network] = []
    networks: list[dict[str, Any]] = client.api.networks()
    for network in networks:
        for pool in (network.get("IPAM") or {}).get("Config") or []:
            subnet = pool.get("Subnet")
            if subnet and ":" not in subnet:
                found.append(ipaddress.IPv4Network(subnet, strict=False))
    routes = subprocess.run(["ip", "-j", "route"], capture_output=True, text=True, check=False)
    if routes.returncode == 0 and routes.stdout.strip():
        for route in json.loads(routes.stdout):
            destination = route.get("dst", "")
            if destination and destination != "default":
                found.append(ipaddress.IPv4Network(destination, strict=False))
    return found


def place(
    client: docker.DockerClient, topology: Topology, requested: str | None
) -> tuple[Topology, NetworkClaim | None]:
    """``requested``: ``"auto"`` or None (a free, claimed /16 of 10.0.0.0/8), or a /16 there."""
    if requested not in (None, "auto"):
        return relocate(topology, str(requested), within=PRIVATE), None
    taken = taken_networks(client)

    def fits(network: str) -> bool:
        subnet = ipaddress.IPv4Network(network)
        return not any(subnet.overlaps(other) for other in taken)

    network, claim = choose_network(
        candidates(10),
        fits,
        hint="remove unused Docker networks (`docker network prune`) or stop other stacks",
    )
    return relocate(topology, network, within=PRIVATE), claim
