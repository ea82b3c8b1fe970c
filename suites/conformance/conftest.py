"""Fixtures of the conformance suite: a probe session, where to probe, how long silence takes.

Library code lives in :mod:`harness.conformance`; these are thin wrappers over the
plugin's ``ullc_target`` that turn it into what a probe needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.conformance.bounds import HOLD_MS
from harness.conformance.datagrams import Address, Exchange
from harness.conformance.session import ProbeSession, media_address, open_probe_session
from harness.conformance.skips import lacks_sessions_reason
from harness.fixtures.target_session import RunningTarget

STUN_ONLY_LINK = "client-stun"
"""The harness's hop in front of a STUN-only target's server (harness.fixtures.hops)."""


@pytest.fixture(scope="module")
def stun_only(ullc_target: RunningTarget) -> bool:
    return ullc_target.capabilities.stun_only


@pytest.fixture(scope="module")
def linger_s(ullc_target: RunningTarget) -> float:
    """How long to wait before calling a silence a silence: the ingress hold H (RACE-3)
    plus the client-DC round trip (TOPO-4; the budget when the target cannot say), plus
    a scheduling margin for a loaded machine."""
    rtt_ms = ullc_target.client_dc_rtt_ms or float(ullc_target.target.limits.connect_budget_ms)
    return (HOLD_MS + rtt_ms) / 1000.0 + 0.25


@pytest.fixture(scope="module")
def probe_session(ullc_target: RunningTarget) -> ProbeSession:
    """One live ULLC session for the module; checks never change a session's state (STUN-49)."""
    if ullc_target.capabilities.stun_only:
        pytest.skip(lacks_sessions_reason(ullc_target))
    return asyncio.run(open_probe_session(ullc_target.target))


@pytest.fixture(scope="module")
def stun_address(ullc_target: RunningTarget) -> Address:
    """Where checks go: the STUN server of a STUN-only target, else the resolved edge."""
    stun = ullc_target.target.endpoints.stun
    if ullc_target.capabilities.stun_only and stun is not None:
        return stun.as_tuple()
    return asyncio.run(media_address(ullc_target.target))


@pytest.fixture
def observed_addresses(ullc_target: RunningTarget) -> Callable[[Exchange], set[Address]]:
    """What XOR-MAPPED-ADDRESS may carry for one exchange (STUN-13).

    The reference stack preserves the client's address through its relays, so it is the
    probe socket itself; behind the harness's hop a target sees the hop's flow socket.
    """

    def observed(result: Exchange) -> set[Address]:
        if ullc_target.is_reference:
            return {result.local}
        link = ullc_target.link_at(f"{result.destination[0]}:{result.destination[1]}")
        if link is None:
            return {result.local}
        return ullc_target.mapped_addresses(link)

    return observed
