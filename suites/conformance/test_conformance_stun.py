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

from harness.conformance.crafting import EXPECTATIONS, Reply, Variant, craft
from harness.conformance.datagrams import Address, Exchange, exchange
from harness.conformance.judging import judge
from harness.conformance.session import ProbeSession
from harness.conformance.stun_probes import ALL_PROBES, PROBES, REQUIREMENTS, Probe
from harness.fixtures.target_session import RunningTarget
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_checker import Profile
from harness.protocol.stun_outcome import judge_answers
from harness.target.model import StunSettings
from harness.testing import known_deviation_reason, no_credentials_reason, probe_credentials

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


# -- rows for STUN-only targets (TGT-5) ------------------------------------------------------
def _probe_row(probe: Probe) -> object:
    return pytest.param(
        probe, id=probe.name, marks=pytest.mark.requirements("TGT-5", *REQUIREMENTS[probe.name])
    )


@pytest.mark.requires_capability("stun_only")
@pytest.mark.parametrize("probe", [_probe_row(p) for p in ALL_PROBES])
def test_stun_only_responder_answers_as_the_request_calls_for(
    probe: Probe,
    ullc_target: RunningTarget,
    stun_address: Address,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    settings = ullc_target.target.stun or StunSettings()
    if probe.needs_credentials and not settings.has_credentials:
        pytest.skip(no_credentials_reason(ullc_target, probe.what))
    bot, client, credentials = probe_credentials(settings)
    request = probe.build(bot, client)
    result = asyncio.run(
        exchange(stun_address, [request], bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=0.5)
    )  # fmt: skip

    # The outcome is read from the request for the target's declared profile
    # (harness.protocol.stun_outcome): 420, 400, 401, silence or a (signed) success.
    judged = judge_answers(
        request,
        [answer.data for answer in result.answers if answer.source == result.destination],
        profile=Profile(settings.profile),
        credentials=credentials,
        observed=observed_addresses(result),
    )

    deviation = settings.known_deviations.get(probe.name)
    if deviation is not None:
        assert not judged.conformant, (
            f"[stun].known_deviations declares {probe.name!r} ({deviation}), but the target "
            "now answers it as the RFCs say: remove the declaration"
        )
        pytest.skip(known_deviation_reason(ullc_target, probe.name, deviation, judged))
    assert judged.conformant, judged.explain()


@pytest.mark.requires_capability("stun_only")
@pytest.mark.requirements("TGT-5", "STUN-49")
def test_plain_binding_retransmission_is_answered_again(
    ullc_target: RunningTarget,
    stun_address: Address,
    observed_addresses: Callable[[Exchange], set[Address]],
) -> None:
    settings = ullc_target.target.stun or StunSettings()
    bot, client, credentials = probe_credentials(settings)
    # The first probe a responder of this profile answers: a plain request, or a
    # signed check where credentials are required (an ICE agent answers a plain one 400).
    request = PROBES["valid-check" if settings.has_credentials else "plain-binding"].build(
        bot, client
    )
    result = asyncio.run(
        exchange(stun_address, [request] * 3, bind_ip=ullc_target.target.client.bind_ip,
                 linger_s=0.5)
    )  # fmt: skip

    judged = judge_answers(
        request,
        [answer.data for answer in result.answers],
        profile=Profile(settings.profile),
        credentials=credentials,
        observed=observed_addresses(result),
    )

    assert judged.conformant, judged.explain()
    assert len(judged.reports) == 3, judged.explain()
