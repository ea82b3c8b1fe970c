"""The target's real STUN answers, one rule of the responder table at a time (STUN-40..50).

Each check is crafted for a live session the probe opened itself
(:mod:`harness.conformance.crafting`), sent down the client's media path (the
resolved edge), and whatever comes back - or the silence - is judged by the strict
checker with the session's password and the probe's observed address. The table of
expected replies is the specs'; the decision function :func:`harness.protocol.decide`
encodes the same table and is cross-checked against it in tests/unit/conformance.

A STUN-only target (TGT-5) runs the rows that hold for any STUN server; the rows that
need an ICE session skip, naming the capability it lacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from harness.conformance.crafting import (
    EXPECTATIONS,
    Reply,
    Variant,
    corrupt_plain,
    craft,
    plain_binding,
)
from harness.conformance.datagrams import Address, Exchange, exchange
from harness.conformance.judging import judge
from harness.conformance.session import ProbeSession
from harness.fixtures.target_session import RunningTarget
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_checker import Profile
from harness.testing import lacks_sessions_reason

pytestmark = pytest.mark.conformance

SESSION_ROWS = [
    Variant.VALID,
    Variant.BAD_INTEGRITY,
    Variant.NO_INTEGRITY,
    Variant.NO_USERNAME,
    Variant.UNKNOWN_UFRAG,
    Variant.UNKNOWN_REQUIRED_ATTRIBUTE,
    Variant.ICE_CONTROLLED,
    Variant.BAD_COOKIE,
    Variant.TOP_BITS,
    Variant.TRUNCATED,
    Variant.BAD_FINGERPRINT,
    Variant.INDICATION,
]


def _row(variant: Variant) -> object:
    ids = EXPECTATIONS[variant].requirements
    return pytest.param(variant, id=variant.name.lower(), marks=pytest.mark.requirements(*ids))


@pytest.mark.parametrize("variant", [_row(v) for v in SESSION_ROWS])
def test_responder_rule(
    variant: Variant,
    ullc_target: RunningTarget,
    probe_session: ProbeSession,
    stun_address: Address,
    linger_s: float,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    crafted = craft(variant, probe_session.bot, probe_session.client)
    result = asyncio.run(
        exchange(stun_address, [crafted.data], bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=linger_s)
    )  # fmt: skip

    verdict = judge(
        crafted, result, password=probe_session.bot.pwd, observed=observed_addresses(result)
    )

    assert verdict.ok, verdict.explain()
    # Whatever the row, an unauthenticated or malformed check never earns a success.
    if variant is not Variant.VALID:
        assert verdict.reply is not Reply.SUCCESS, verdict.explain()


@pytest.mark.requirements("STUN-49", "RACE-5", "STUN-48")
def test_retransmitted_check_is_answered_every_time(
    ullc_target: RunningTarget,
    probe_session: ProbeSession,
    stun_address: Address,
    linger_s: float,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    crafted = craft(Variant.VALID, probe_session.bot, probe_session.client)
    copies = 3
    pacing_s = ullc_target.target.limits.pacing_ms / 1000.0
    result = asyncio.run(
        exchange(stun_address, [crafted.data] * copies, bind_ip=ullc_target.target.client.bind_ip,
                 pacing_s=pacing_s, linger_s=linger_s)
    )  # fmt: skip

    verdict = judge(
        crafted, result, password=probe_session.bot.pwd, observed=observed_addresses(result)
    )

    assert verdict.ok, verdict.explain()
    # Loopback drops nothing: every copy of the transaction gets its own answer.
    assert verdict.answers == copies, verdict.explain()
    mapped = {
        str(attr.value)
        for report in verdict.reports
        for attr in report.attributes
        if attr.type == AttributeType.XOR_MAPPED_ADDRESS
    }
    assert len(mapped) == 1, mapped


# -- rows that hold for any STUN server (TGT-5) ---------------------------------------------
@pytest.mark.requires_capability("stun_only")
@pytest.mark.requirements("TGT-5", "STUN-5", "STUN-12", "STUN-13", "STUN-9")
def test_plain_binding_request_gets_a_conformant_success(
    ullc_target: RunningTarget,
    stun_address: Address,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    crafted = plain_binding()
    result = asyncio.run(
        exchange(stun_address, [crafted.data], bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=0.5)
    )  # fmt: skip

    # The RFC profile: a plain STUN server owes no ICE attributes and no integrity; the
    # checker still verifies header, cookie, transaction echo, XOR-MAPPED-ADDRESS and a
    # FINGERPRINT if there is one.
    verdict = judge(
        crafted, result, password=None, observed=observed_addresses(result), profile=Profile.RFC
    )

    assert verdict.ok, verdict.explain()
    assert verdict.reply is Reply.SUCCESS


@pytest.mark.requires_capability("stun_only")
@pytest.mark.requirements("TGT-5", "STUN-49")
def test_plain_binding_retransmission_is_answered_again(
    ullc_target: RunningTarget,
    stun_address: Address,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    crafted = plain_binding()
    result = asyncio.run(
        exchange(stun_address, [crafted.data] * 3, bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=0.5)
    )  # fmt: skip

    verdict = judge(
        crafted, result, password=None, observed=observed_addresses(result), profile=Profile.RFC
    )

    assert verdict.ok, verdict.explain()
    assert verdict.answers == 3, verdict.explain()


@pytest.mark.requires_capability("stun_only")
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(Variant.TOP_BITS, marks=pytest.mark.requirements("STUN-40", "STUN-1")),
        pytest.param(Variant.TRUNCATED, marks=pytest.mark.requirements("STUN-40", "STUN-3")),
        pytest.param(Variant.BAD_COOKIE, marks=pytest.mark.requirements("STUN-40", "STUN-2")),
    ],
    ids=lambda v: v.name.lower(),
)
def test_plain_framing_defect_is_silently_discarded(
    variant: Variant, ullc_target: RunningTarget, stun_address: Address
) -> None:
    if variant is Variant.BAD_COOKIE:
        # RFC 8489 §6.3 lets a plain server answer classic RFC 3489 clients; refusing them
        # (STUN-2) is a ULLC rule, i.e. one for targets with sessions.
        pytest.skip(lacks_sessions_reason(ullc_target))
    crafted = corrupt_plain(variant)
    result = asyncio.run(
        exchange(stun_address, [crafted.data], bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=0.5)
    )  # fmt: skip

    verdict = judge(crafted, result, password=None, profile=Profile.RFC)

    assert verdict.ok, verdict.explain()
