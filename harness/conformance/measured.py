"""The chaos world of any target: from the reference topology, or measured through the hops.

The chaos bounds (RACE-4, FB-5, TOPO-4's floor) need the client's round trips. On the
reference stack they are the topology's (TOPO-2). On a user target they are measured
through the harness's own hops (TGT-7), never taken from our topology: one
``session.create`` timed over ``client-gateway`` (the signaling round trip, store
included) and paced checks for that session timed over the client's edge hop (the
media round trip). The links a chaos test impairs are named here too, so a suite test
reads "the media link" and "the signaling link" without knowing whose stack it is.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from harness.client.checks import Expected, build_check, judge_response, new_tiebreaker
from harness.client.gateway import GatewayConnection
from harness.client.offer import CallOffer
from harness.conformance.bounds import World
from harness.conformance.errors import ProbeSetupError
from harness.fixtures.target_session import RunningTarget
from harness.signaling.messages import Mode, SessionCreated, SessionCreateRequest

SAMPLES = 5
"""Round trips timed per path; the median is the world's number."""


@dataclass(frozen=True)
class ChaosWorld(World):
    """A :class:`World` plus the names of the links its chaos tests impair."""

    media_link: str = ""
    """The client's link to the edge it resolves (``client-edge.<edge>``)."""
    access_links: tuple[str, ...] = ()
    """Every client-facing link media may take: the edge's ports and, on a user target,
    the hops in front of the fallback media addresses (``client-media.<dc>``)."""
    edge_links: tuple[str, ...] = ()
    """Every link media can cross to reach a DC (an edge cut cuts these)."""
    signaling_link: str = ""
    """Where a delay holds signaling back behind media: ``gateway-dc.<dc>`` on the
    reference stack, the client's ``client-gateway`` hop (upstream) on a user target."""
    kv_link: str | None = None
    """``dc-kv.<dc>``: only the reference stack exposes its DCs' store links."""
    fallback_rtt_ms: float | None = None
    """RTT to the fallback media address (FB-5), when known."""
    measured: bool = False
    signaling_rtt_ms: float = 0.0
    """Measured ``session.create`` round trip (store included) through ``client-gateway``."""

    @property
    def rtt_floor_ms(self) -> float:
        """Measured round trips carry the machine's noise (a loaded machine measured 11 ms
        where calls then took 5), so they may widen a bound but never raise a floor: a
        measured world has no physical floor beyond zero."""
        return super().rtt_floor_ms if not self.measured else 0.0

    def signaling_lag_ms(self, extra_signaling_ms: float = 0.0) -> float:
        """RACE-4's D. Measured from the client, only round trips are known, not where the
        store falls inside one; the session is stored before ``session.created`` leaves,
        so D is at most the signaling round trip plus the added delay (and the check may
        arrive at once). The upper end keeps the bound free of false failures."""
        if not self.measured:
            return super().signaling_lag_ms(extra_signaling_ms)
        return extra_signaling_ms + self.signaling_rtt_ms

    def call_signaling_lag_ms(
        self, extra_signaling_ms: float, answered_after_check_ms: float | None
    ) -> float:
        """RACE-4's D for one call that got ``session.created`` ``answered_after_check_ms``
        after its first check. Measured, D's upper end is per call too: the session was
        stored before that answer left (SIG-11), so D is at most the answer's time. The
        larger of that and :meth:`signaling_lag_ms`: a hop or a loaded machine that held
        one request past the added delay must not shrink that call's D (a call whose
        answer came 164 ms late failed a bound computed from the nominal D)."""
        d_ms = self.signaling_lag_ms(extra_signaling_ms)
        if not self.measured or answered_after_check_ms is None:
            return d_ms
        return max(d_ms, answered_after_check_ms)

    def race_floor_ms(self, extra_signaling_ms: float = 0.0) -> float:
        """Measured: the delayed request cannot create the session sooner than ``extra``
        after it left. (The measured round trips carry the machine's noise, so they may
        only widen a bound, never raise a floor.)"""
        if not self.measured:
            return super().race_floor_ms(extra_signaling_ms)
        return extra_signaling_ms


def chaos_world(running: RunningTarget) -> ChaosWorld:
    """The chaos world of ``running`` (computed once per target, then cached on it)."""
    cached = running.cache.get("chaos_world")
    if isinstance(cached, ChaosWorld):
        return cached
    world = _reference(running) if running.topology is not None else _measured(running)
    running.cache["chaos_world"] = world
    return world


def _reference(running: RunningTarget) -> ChaosWorld:
    assert running.topology is not None
    world = World.from_topology(running.topology, running.target.limits)
    links = sorted(running.link_addresses)
    media = f"client-edge.{world.edge}"
    return ChaosWorld(
        **asdict(world),
        media_link=media,
        access_links=tuple(link for link in links if link.startswith(media)),
        edge_links=tuple(
            link
            for link in links
            if link.startswith(media) or link.startswith(f"edge-dc.{world.edge}.")
        ),
        signaling_link=f"gateway-dc.{world.dc}",
        kv_link=f"dc-kv.{world.dc}",
        fallback_rtt_ms=running.media_rtt_ms(world.dc),
        measured=False,
    )


def _measured(running: RunningTarget) -> ChaosWorld:
    hops = running.hops
    media = running.client_edge_link
    if hops is None or media is None or "client-gateway" not in running.link_addresses:
        raise ProbeSetupError(
            f"target {running.name!r}: no harness hop in front of both its gateway and the "
            "edge its client resolves, so the chaos world cannot be measured",
            hint="TGT-7: an edge is hopped only when its IP is an address of this machine",
        )
    signaling_rtt, media_rtt, dc = asyncio.run(_round_trips(running, media))
    limits = running.target.limits
    edge = media.removeprefix("client-edge.")
    world = World(
        region=running.target.client.bind_ip or "client",
        edge=edge,
        dc=dc,
        client_edge_ms=media_rtt / 2,
        edge_dc_ms=0.0,
        client_gateway_ms=signaling_rtt / 2,
        gateway_dc_ms=0.0,
        dc_kv_ms=0.0,
        client_dns_ms=0.0,
        pacing_ms=float(limits.pacing_ms),
        hold_ms=float(limits.hold_ms),
    )
    media_hops = tuple(sorted(hops.media_links.values()))
    return ChaosWorld(
        **asdict(world),
        media_link=media,
        access_links=(media, *media_hops),
        edge_links=(media, *media_hops),
        signaling_link="client-gateway",
        kv_link=None,
        fallback_rtt_ms=None,
        measured=True,
        signaling_rtt_ms=signaling_rtt,
    )


async def _round_trips(running: RunningTarget, media_link: str) -> tuple[float, float, str]:
    """(signaling RTT, media RTT, DC) in ms, medians over :data:`SAMPLES`, via the hops."""
    target = running.target
    edge = running.link_addresses[media_link].as_tuple()
    signaling: list[float] = []
    media: list[float] = []
    dc = ""
    async with GatewayConnection(
        target.endpoints.require_gateway(), bind_ip=target.client.bind_ip
    ) as gateway:
        for index in range(SAMPLES):
            offer = CallOffer.generate()
            request = SessionCreateRequest(
                request_id=f"measure.{index}.{time.monotonic_ns()}",
                mode=Mode.ULLC,
                client=offer.client_offer(),
                bot=offer.bot_credentials(),
                edge_ip=edge[0],
            )
            started = time.perf_counter()
            answer = await asyncio.wait_for(await gateway.send(request), 5.0)
            signaling.append(1000 * (time.perf_counter() - started))
            if not isinstance(answer, SessionCreated):
                raise ProbeSetupError(
                    f"measuring {running.name!r}: session.create was refused: {answer}",
                    hint="a valid ULLC request must create a session (SIG-7)",
                )
            dc = answer.dc
            media.append(await _check_rtt_ms(target.client.bind_ip, edge, offer))
    return statistics.median(signaling), statistics.median(media), dc


async def _check_rtt_ms(bind_ip: str | None, edge: tuple[str, int], offer: CallOffer) -> float:
    """One check for a stored session, sent through the edge hop: time to its success."""
    loop = asyncio.get_running_loop()
    transaction_id, datagram = build_check(offer.bot, offer.client, new_tiebreaker())
    expected = {transaction_id: Expected(edge, offer.bot)}
    answered: asyncio.Future[float] = loop.create_future()

    class Listener(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, source: tuple[Any, ...]) -> None:
            verdict = judge_response(data, (source[0], source[1]), expected)
            if verdict.authenticated_success and not answered.done():
                answered.set_result(time.perf_counter())

    transport, _ = await loop.create_datagram_endpoint(
        Listener, local_addr=(bind_ip or "0.0.0.0", 0), family=socket.AF_INET
    )
    try:
        for _ in range(20):  # a lost check or answer: try again, time the answered one
            sent = time.perf_counter()
            transport.sendto(datagram, edge)
            done, _ = await asyncio.wait({answered}, timeout=0.5)
            if done:
                return 1000 * (answered.result() - sent)
    finally:
        transport.close()
    raise ProbeSetupError(
        f"no authentic success to a check for a stored session through the edge hop {edge}",
        hint="the target's edge or DC does not answer checks (STUN-48)",
    )
