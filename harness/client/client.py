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
import contextlib
import ipaddress
import itertools
import secrets
import socket
import time
from dataclasses import dataclass

from harness.client.call import Call, CallSettings
from harness.client.checks import new_tiebreaker
from harness.client.dns import DnsFailedError, resolve_edge
from harness.client.gateway import GatewayConnection, GatewayUnavailableError
from harness.client.media import MediaPath, Retransmission
from harness.client.offer import CallOffer
from harness.client.result import CallOutcome, CallResult, EventKind
from harness.client.timeline import Timeline
from harness.errors import UsageError
from harness.protocol.ice import IceCredentials
from harness.signaling.messages import Mode
from harness.target.model import HostPort, Target

DEFAULT_DEADLINE_S = 5.0
"""A call not connected after this long fails (STUN-32)."""
DEADLINE_MARGIN_S = 1.0
"""SIG-15: the deadline is at least the target's signaling timeout plus this, so the
gateway's own ``timeout`` error reaches the client before the deadline does."""


class UllcClient:
    """A client of ``target``; open it (``async with``) before placing calls."""

    def __init__(
        self,
        target: Target,
        *,
        pacing_ms: float | None = None,
        deadline_s: float | None = None,
        edge: HostPort | None = None,
        reuse_dns: bool = True,
        retransmission: Retransmission | None = None,
    ) -> None:
        self.retransmission = retransmission or Retransmission.from_environment()
        self.target = target
        self.reuse_dns = reuse_dns
        """SIG-5: reuse the previous DNS answer while its TTL lasts, as a real client does."""
        self._dns_cache: tuple[str, float] | None = None
        self.pacing_s = (pacing_ms if pacing_ms is not None else target.limits.pacing_ms) / 1000.0
        self.deadline_s = deadline_s or call_deadline_s(target)
        self.bind_ip = target.client.bind_ip
        self._media_hops = {
            media.as_tuple(): hop.as_tuple() for media, hop in target.client.media_hops.items()
        }
        self._edge_override = edge
        self._id = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._gateway: GatewayConnection | None = None
        self._prepared: _Prepared | None = None
        self._reopening = asyncio.Lock()
        self.prepare_ahead = True
        """Prepare the next call (socket, credentials, offer) as soon as a call ends, so
        that it is off the next call's clock; off when no call follows (run_calls' last
        calls), where it was only work competing with the calls still running."""

    async def open(self) -> UllcClient:
        """Open the persistent gateway connection (SIG-2) and prepare the first call.

        Raises ``GatewayUnavailableError``; a check socket that cannot bind shows
        up as the first call's ``socket_error`` outcome instead.
        """
        if self._gateway is None:
            self._gateway = await GatewayConnection(
                self.target.endpoints.require_gateway(), bind_ip=self.bind_ip
            ).open()
        if self._prepared is None:
            with contextlib.suppress(OSError):
                self._prepared = await self._prepare()
        return self

    async def _reopen(self) -> GatewayConnection:
        # One re-connect for all the calls that found the connection gone.
        async with self._reopening:
            if self._gateway is not None and self._gateway.is_open:
                return self._gateway
            if self._gateway is not None:
                await self._gateway.close()
            self._gateway = None
            await self.open()
            return self.gateway

    async def close(self) -> None:
        if self._prepared is not None:
            await self._prepared.media.close()
            self._prepared = None
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

    async def _prepare(self) -> _Prepared:
        """Everything a call needs before "call": credentials, bound socket, SDP (SIG-4)."""
        credentials = IceCredentials.generate()
        media = MediaPath(
            credentials,
            tiebreaker=new_tiebreaker(),
            pacing_s=self.pacing_s,
            retransmission=self.retransmission,
        )
        try:
            local = await media.open(self.bind_ip)
        except BaseException:
            await media.close()
            raise
        unspecified = ipaddress.ip_address(local[0]).is_unspecified
        # An unbound socket has no address worth announcing; the bot learns it
        # from the checks anyway (peer reflexive, RFC 8445 §7.3.1.3).
        offer = CallOffer.generate(None if unspecified else local, client=credentials)
        return _Prepared(offer, media)

    async def connect(self, mode: Mode = Mode.ULLC) -> CallResult:
        """Place one call and return its result; never raises for a failed call (SIG-14)."""
        if mode is Mode.SEQUENTIAL and not self.target.capabilities.has("sequential"):
            raise UsageError(
                f"target {self.target.name} does not declare the sequential mode",
                hint="add 'sequential' to [capabilities].modes if it has one (SIG-9, TGT-4)",
            )
        gateway = self.gateway
        if not gateway.is_open:
            # The gateway dropped us between calls (a restart, a chaos fault). A
            # real client re-connects in the background before the next call, so
            # the handshake stays off the call's clock (SIG-2).
            try:
                gateway = await self._reopen()
            except GatewayUnavailableError as error:
                return _early_failure(
                    mode, time.monotonic(), CallOutcome.GATEWAY_CLOSED, error.message
                )
        t0 = time.monotonic()  # connect latency counts from here (overview, definitions)
        # Concurrent calls on one client find the prepared call taken: they
        # prepare on the clock (a socket bind, well under a millisecond).
        prepared, self._prepared = self._prepared, None
        try:
            if prepared is None:
                try:
                    prepared = await self._prepare()
                except OSError as error:
                    bound = self.bind_ip or "any address"
                    return _early_failure(
                        mode,
                        t0,
                        CallOutcome.SOCKET_ERROR,
                        f"cannot bind the check socket to {bound}: {error}",
                    )
            call = Call(
                t0=t0,
                mode=mode,
                offer=prepared.offer,
                media=prepared.media,
                request_id=f"c{self._id}.{next(self._counter)}",
                gateway=gateway,
                resolve_edge=self._resolve_edge,
                settings=CallSettings(self.deadline_s, self._media_hops),
            )
            return await call.run()
        finally:
            if self.prepare_ahead and self._prepared is None and self._gateway is not None:
                with contextlib.suppress(OSError):
                    self._prepared = await self._prepare()

    async def _resolve_edge(self, timeline: Timeline, remaining_s: float) -> tuple[str, int]:
        endpoints = self.target.endpoints
        if self._edge_override is not None:
            return await _numeric(self._edge_override)
        if endpoints.uses_dns:
            assert endpoints.dns is not None
            assert endpoints.global_endpoint is not None
            now = asyncio.get_running_loop().time()
            if self.reuse_dns and self._dns_cache is not None and now < self._dns_cache[1]:
                timeline.add(EventKind.DNS_ANSWERED, address=self._dns_cache[0], cached=True)
                return (self._dns_cache[0], endpoints.global_port)
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
            self._dns_cache = (answer.address, now + answer.ttl)
            return (answer.address, endpoints.global_port)
        if endpoints.edges:
            # TGT-10: without DNS the first listed edge is "the nearest": the file's author
            # lists the edge of the client's region first.
            return await _numeric(endpoints.edges[0])
        raise DnsFailedError(
            f"target {self.target.name} names no way to reach an edge",
            hint="give [endpoints].dns + global_endpoint or [endpoints].edges (TGT-1)",
        )


def call_deadline_s(target: Target) -> float:
    """SIG-15: one deadline per call, never shorter than the signaling timeout + margin."""
    return max(DEFAULT_DEADLINE_S, target.limits.signaling_timeout_ms / 1000.0 + DEADLINE_MARGIN_S)


@dataclass(frozen=True)
class _Prepared:
    offer: CallOffer
    media: MediaPath


def _early_failure(mode: Mode, t0: float, outcome: CallOutcome, detail: str) -> CallResult:
    """A call that failed before it could start (no socket, no gateway)."""
    timeline = Timeline(t0)
    timeline.add(EventKind.FAILED, outcome=outcome.value, detail=detail)
    return CallResult(
        outcome=outcome, mode=mode, detail=detail, timeline=timeline.freeze(), started_at=t0
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
