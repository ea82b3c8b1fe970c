"""A ULLC session the prober opened itself, so it holds both credential sets (SIG-4).

With the bot's ufrag and password in hand a probe can sign checks correctly, sign
them wrongly, or leave things out, and send them down the same media path a
client's checks take: the edge address the global endpoint resolves to.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from harness.client.checks import Expected, Verdict, build_check, judge_response, new_tiebreaker
from harness.client.dns import DnsFailedError, resolve_edge
from harness.client.gateway import GatewayConnection, GatewayUnavailableError
from harness.client.offer import CallOffer
from harness.conformance.datagrams import Address
from harness.conformance.errors import ProbeSetupError
from harness.errors import HarnessError
from harness.protocol.ice import IceCredentials
from harness.signaling.messages import Mode, SessionCreated, SessionCreateRequest, SignalingError
from harness.target.model import Target


async def media_address(target: Target) -> Address:
    """Where a client of ``target`` sends its checks: the DNS answer, else the first edge."""
    endpoints = target.endpoints
    if endpoints.dns is not None and endpoints.global_endpoint is not None:
        try:
            answer = await resolve_edge(
                endpoints.global_endpoint,
                endpoints.dns.as_tuple(),
                bind_ip=target.client.bind_ip,
                timeout_s=5.0,
            )
        except DnsFailedError as error:
            raise ProbeSetupError(
                f"cannot resolve the global endpoint of {target.name}: {error.message}",
                hint=error.hint,
            ) from error
        return (answer.address, endpoints.global_port)
    if endpoints.edges:
        return endpoints.edges[0].as_tuple()
    raise ProbeSetupError(
        f"target {target.name} names no edge to probe",
        hint="give [endpoints].dns + global_endpoint or [endpoints].edges (TGT-1)",
    )


@dataclass(frozen=True)
class ProbeSession:
    """A live session and everything needed to talk to its bot."""

    offer: CallOffer
    edge: Address
    """The media address checks go to (the routed edge)."""
    created: SessionCreated

    @property
    def bot(self) -> IceCredentials:
        return self.offer.bot

    @property
    def client(self) -> IceCredentials:
        return self.offer.client

    @property
    def media(self) -> Address:
        """``media`` of the response: reaches the session's DC whatever the maps say (FB-1)."""
        return self.created.media.as_tuple()


async def open_probe_session(target: Target, edge: Address | None = None) -> ProbeSession:
    """``session.create`` (ULLC) with fresh credentials for ``edge``'s IP (default: the edge
    a client of the target resolves). Raises :class:`ProbeSetupError` when refused."""
    where = edge or await media_address(target)
    offer = CallOffer.generate()
    request = SessionCreateRequest(
        request_id=f"probe.{secrets.token_hex(6)}",
        mode=Mode.ULLC,
        client=offer.client_offer(),
        bot=offer.bot_credentials(),
        edge_ip=where[0],
    )
    timeout_s = target.limits.signaling_timeout_ms / 1000 + 1.0
    try:
        async with GatewayConnection(
            target.endpoints.require_gateway(), bind_ip=target.client.bind_ip
        ) as gw:
            future = await gw.send(request)
            answer = await asyncio.wait_for(future, timeout_s)
    except (TimeoutError, GatewayUnavailableError, HarnessError) as error:
        raise ProbeSetupError(
            f"session.create for a probe got no answer from {target.endpoints.gateway}: {error}",
            hint="is the gateway up? a valid request must be answered within "
            "signaling_timeout_ms (SIG-13)",
        ) from error
    if isinstance(answer, SignalingError):
        raise ProbeSetupError(
            f"session.create for a probe was refused: {answer.code.value}: {answer.message}",
            hint="a valid ULLC request must create a session (SIG-7)",
        )
    return ProbeSession(offer, where, answer)


async def send_checks(
    target: Target,
    session: ProbeSession,
    address: Address,
    *,
    count: int = 4,
    pacing_s: float = 0.05,
    linger_s: float = 0.3,
) -> list[Verdict]:
    """Send ``count`` paced copies of one check to ``address``; every answer, judged.

    Listens ``linger_s`` after the last send, long enough for any answer of the
    world's round trip (hold plus RTT) to come back.
    """
    loop = asyncio.get_running_loop()
    bot, client = session.offer.bot, session.offer.client
    transaction_id, datagram = build_check(bot, client, new_tiebreaker())
    expected = {transaction_id: Expected(address, bot)}
    verdicts: list[Verdict] = []

    class Listener(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, source: tuple[Any, ...]) -> None:
            verdicts.append(judge_response(data, (source[0], source[1]), expected))

    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    bind = target.client.bind_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0")
    transport, _ = await loop.create_datagram_endpoint(
        Listener, local_addr=(bind, 0), family=family
    )
    try:
        for _ in range(count):
            transport.sendto(datagram, address)
            await asyncio.sleep(pacing_s)
        await asyncio.sleep(linger_s)
    finally:
        transport.close()
    return verdicts
