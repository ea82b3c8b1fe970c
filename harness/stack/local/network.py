"""Where a local stack lives: a /16 of 127.0.0.0/8 whose every address binds right now."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from harness.stack.errors import StackAddressInUseError
from harness.stack.local.network_claim import NetworkClaim
from harness.stack.network import candidates, choose_network
from harness.stack.plan import Plan, Transport
from harness.stack.topology import Topology, relocate


def busy_address(plan: Plan) -> tuple[str, Transport, tuple[str, int], OSError] | None:
    """The first address of the plan that cannot be bound right now, if any."""
    for owner, transport, address in plan.binds():
        kind = socket.SOCK_DGRAM if transport is Transport.UDP else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as sock:
            if transport is Transport.TCP:
                # Servers bind with SO_REUSEADDR, so TIME_WAIT leftovers are not "busy".
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as error:
                return owner, transport, address, error
    return None


@dataclass
class Placement:
    """A plan laid out where it binds, and the claim that keeps parallel runners off it."""

    plan: Plan
    claim: NetworkClaim | None

    @property
    def topology(self) -> Topology:
        return self.plan.topology


def place(topology: Topology, requested: str | None, *, hops: bool = True) -> Placement:
    """``requested``: ``"auto"`` (a free, claimed /16), a /16, or None (the topology's own)."""
    if requested == "auto":

        def fits(network: str) -> bool:
            return busy_address(Plan(relocate(topology, network), hops=hops)) is None

        network, claim = choose_network(
            candidates(127),
            fits,
            hint="stop other reference stacks (`ps -eo pid,comm | grep ullc:`)",
        )
        return Placement(Plan(relocate(topology, network), hops=hops), claim)
    if requested is not None:
        topology = relocate(topology, requested)
    plan = Plan(topology, hops=hops)
    busy = busy_address(plan)
    if busy is not None:
        owner, transport, address, error = busy
        raise StackAddressInUseError(
            f"cannot bind {transport.value} {address[0]}:{address[1]} for {owner}: "
            f"{error.strerror or error}",
            hint=f"another reference stack probably runs on {topology.network}; "
            "stop it (Ctrl-C its `ullc-harness up`), or use another network "
            '(`--network 127.78.0.0/16`, or network="auto" from Python)',
        )
    return Placement(plan, None)
