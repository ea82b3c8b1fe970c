"""``UllcClient``: a voice client of one target, with its persistent gateway connection.

Usage::

    async with UllcClient(target) as client:
        result = await client.connect()            # ULLC
        baseline = await client.connect(mode=Mode.SEQUENTIAL)

One client holds one gateway WebSocket (SIG-2) and may run many calls on it at
once (SIG-3). It always has the next call's offer ready, so credentials and
SDP are never generated on the critical path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import secrets
import socket
import time

from harness.client.call import Call, CallSettings
from harness.client.dns import DnsFailedError, resolve_edge
from harness.client.gateway import GatewayConnection
from harness.client.offer import CallOffer
from harness.client.result import CallResult, EventKind
from harness.client.timeline import Timeline
from harness.errors import UsageError
from harness.signaling.messages import Mode
from harness.target.model import HostPort, Target

DEFAULT_DEADLINE_S = 5.0
"""A call not connected after this long fails (STUN-32); at least the signaling timeout + 1 s."""


class UllcClient:
    """A client of ``target``; open it (``async with``) before placing calls."""

    def __init__(
        self,
        target: Target,
        *,
        pacing_ms: float | None = None,
        deadline_s: float | None = None,
        edge: HostPort | None = None,
    ) -> None:
        self.target = target
        self.pacing_s = (pacing_ms if pacing_ms is not None else target.limits.pacing_ms) / 1000.0
        self.deadline_s = deadline_s or max(
            DEFAULT_DEADLINE_S, target.limits.signaling_timeout_ms / 1000.0 + 1.0
        )
        self.bind_ip = target.client.bind_ip
        self._edge_override = edge
        self._id = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._gateway: GatewayConnection | None = None
        self._next_offer = CallOffer.generate()

    async def open(self) -> UllcClient:
        """Open the persistent gateway connection (SIG-2). Raises ``GatewayUnavailableError``."""
        if self._gateway is None:
            self._gateway = await GatewayConnection(
                self.target.endpoints.gateway, bind_ip=self.bind_ip
            ).open()
        return self

    async def close(self) -> None:
        if self._gateway is not None:
            await self._gateway.close()
            self._gateway = None

    async def __aenter__(self) -> UllcClient:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def gateway(self) -> GatewayConnection:
        if self._gateway is None:
            raise UsageError(
                "UllcClient.connect before open()",
                hint="use `async with UllcClient(target) as client:` (SIG-2: connect first)",
            )
        return self._gateway

    def _take_offer(self) -> CallOffer:
        offer, self._next_offer = self._next_offer, CallOffer.generate()
        return offer

    async def connect(self, mode: Mode = Mode.ULLC) -> CallResult:
        """Place one call and return its result; never raises for a failed call (SIG-14)."""
        t0 = time.monotonic()  # connect latency counts from here (overview, definitions)
        if mode is Mode.SEQUENTIAL and not self.target.capabilities.has("sequential"):
            raise UsageError(
                f"target {self.target.name} does not declare the sequential mode",
                hint="add 'sequential' to [capabilities].modes if it has one (SIG-9, TGT-4)",
            )
        gateway = self.gateway
        offer = self._take_offer()
        call = Call(
            t0=t0,
            mode=mode,
            offer=offer,
            request_id=f"c{self._id}.{next(self._counter)}",
            gateway=gateway,
            resolve_edge=self._resolve_edge,
            settings=CallSettings(self.pacing_s, self.deadline_s, self.bind_ip),
        )
        return await call.run()

    async def _resolve_edge(self, timeline: Timeline, remaining_s: float) -> tuple[str, int]:
        endpoints = self.target.endpoints
        if self._edge_override is not None:
            return await _numeric(self._edge_override)
        if endpoints.uses_dns:
            assert endpoints.dns is not None
            assert endpoints.global_endpoint is not None
            timeline.add(
                EventKind.DNS_SENT, name=endpoints.global_endpoint, server=str(endpoints.dns)
            )
            answer = await resolve_edge(
                endpoints.global_endpoint,
                endpoints.dns.as_tuple(),
                bind_ip=self.bind_ip,
                timeout_s=remaining_s,
            )
            timeline.add(
                EventKind.DNS_ANSWERED,
                address=answer.address,
                ttl=answer.ttl,
                attempts=answer.attempts,
            )
            return (answer.address, endpoints.global_port)
        if endpoints.edges:
            # Without DNS the first listed edge is "the nearest": the file's author
            # lists the edge of the client's region first.
            return await _numeric(endpoints.edges[0])
        raise DnsFailedError(
            f"target {self.target.name} names no way to reach an edge",
            hint="give [endpoints].dns + global_endpoint or [endpoints].edges (TGT-1)",
        )


async def _numeric(address: HostPort) -> tuple[str, int]:
    """``edge_ip`` must be an IP address (SIG-4): resolve a host name once, here."""
    try:
        return (str(ipaddress.ip_address(address.host)), address.port)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            address.host, address.port, type=socket.SOCK_DGRAM
        )
    except OSError as error:
        raise DnsFailedError(
            f"edge host {address.host} does not resolve: {error}",
            hint="write the edge as an IP address in [endpoints].edges",
        ) from error
    host = infos[0][4][0]
    return (str(host), address.port)
