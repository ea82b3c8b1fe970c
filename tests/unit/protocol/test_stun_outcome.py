"""The outcome a request calls for, cross-checked against the reference bot's rules.

The ULLC bot (harness.protocol.ice_responder.decide) and the judge
(harness.protocol.stun_outcome) are two readings of specs/stun.md: every probe of the
golden set, sent to the bot with a live session, must get an answer (or silence) that
the judge accepts as exactly what the request calls for. Broken bots must not pass.
"""

from __future__ import annotations

import pytest

from harness.conformance.stun_probes import ALL_PROBES, Probe
from harness.protocol.ice import generate_credentials
from harness.protocol.ice_responder import Outcome as BotOutcome
from harness.protocol.ice_responder import decide
from harness.protocol.stun_checker import Profile
from harness.protocol.stun_outcome import Credentials, Reply, expected_outcome, judge_answers

SOURCE = ("192.0.2.7", 40000)
BOT = generate_credentials()
CLIENT = generate_credentials()


def _bot_answers(request: bytes) -> list[bytes]:
    decision = decide(request, SOURCE, {BOT.ufrag: BOT.pwd}.get)
    if decision.outcome is BotOutcome.DISCARD:
        return []
    assert decision.response is not None
    return [decision.response]


@pytest.mark.parametrize("probe", ALL_PROBES, ids=lambda p: p.name)
def test_reference_bot_answers_every_probe_as_the_ullc_profile_says(probe: Probe) -> None:
    request = probe.build(BOT, CLIENT)

    judged = judge_answers(
        request,
        _bot_answers(request),
        profile=Profile.ULLC,
        credentials=Credentials(BOT.ufrag, BOT.pwd),
        observed=SOURCE,
    )

    assert judged.conformant, judged.explain()


@pytest.mark.parametrize(
    ("probe", "profile", "accepted"),
    [
        # An ICE agent requires credentials: 400 to an unauthenticated request is right.
        ("plain-binding-fingerprint", Profile.ICE, {Reply.E400}),
        # A plain server may protect Binding with long-term credentials (RFC 8489 §9.2.4).
        ("plain-binding-fingerprint", Profile.RFC8489, {Reply.SUCCESS, Reply.E401}),
        ("unknown-required", Profile.RFC8489, {Reply.E420, Reply.E401}),
        ("unknown-required", Profile.CLASSIC, {Reply.E420}),
        ("unknown-required", Profile.ICE, {Reply.E400}),
        ("check-unknown-required", Profile.ICE, {Reply.E420}),
        ("check-bad-integrity", Profile.ICE, {Reply.E401}),
        ("check-priority-3-bytes", Profile.ICE, {Reply.E400}),
        ("bad-cookie", Profile.RFC8489, {Reply.SILENCE}),
        ("top-bits", Profile.RFC8489, {Reply.SILENCE}),
        ("truncated-attribute", Profile.RFC8489, {Reply.SILENCE}),
        ("indication", Profile.RFC8489, {Reply.SILENCE}),
        ("stray-success", Profile.ICE, {Reply.SILENCE}),
        # RFC 8489 §11: an RFC 3489 request may be discarded or answered the classic way.
        ("classic-binding", Profile.RFC8489, {Reply.SILENCE, Reply.SUCCESS}),
        ("classic-binding", Profile.CLASSIC, {Reply.SUCCESS}),
        ("classic-binding", Profile.ULLC, {Reply.SILENCE}),
    ],
)
def test_outcomes_per_profile(probe: str, profile: Profile, accepted: set[Reply]) -> None:
    from harness.conformance.stun_probes import PROBES

    request = PROBES[probe].build(BOT, CLIENT)
    outcome = expected_outcome(request, profile, Credentials(BOT.ufrag, BOT.pwd))
    assert outcome.accepted == accepted, outcome.describe()
    assert outcome.clause.startswith("RFC ")


def test_a_bot_that_ignores_unknown_attributes_is_caught() -> None:
    """The broken variant: answering success where 420 is due (aioice's bug) fails."""
    from harness.conformance.stun_probes import PROBES
    from harness.protocol.ice import build_binding_success

    request = PROBES["check-unknown-required"].build(BOT, CLIENT)
    # A well-formed, signed success for this very transaction: all that is wrong is
    # that the request called for 420.
    forged = build_binding_success(request, password=BOT.pwd, mapped=SOURCE)
    judged = judge_answers(
        request,
        [forged],
        profile=Profile.ULLC,
        credentials=Credentials(BOT.ufrag, BOT.pwd),
        observed=SOURCE,
    )
    assert not judged.conformant
    assert "STUN-46" in {v.requirement for v in judged.violations}


def test_a_long_term_challenge_needs_realm_and_nonce() -> None:
    from harness.conformance.stun_probes import PROBES
    from harness.protocol.stun_attributes import AttributeType, encode_error_code
    from harness.protocol.stun_message import Method, encode_message
    from harness.protocol.stun_wire import MessageClass

    request = PROBES["plain-binding-fingerprint"].build(BOT, CLIENT)
    tx = request[8:20]
    error = (AttributeType.ERROR_CODE, encode_error_code(401, "Unauthorized"))
    realm = (AttributeType.REALM, b"example.org")
    nonce = (AttributeType.NONCE, b"obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
    bare = encode_message(Method.BINDING, MessageClass.ERROR, tx, [error])
    full = encode_message(Method.BINDING, MessageClass.ERROR, tx, [error, realm, nonce])

    judged_bare = judge_answers(request, [bare], profile=Profile.RFC8489)
    judged_full = judge_answers(request, [full], profile=Profile.RFC8489)

    assert "STUN-50" in {v.requirement for v in judged_bare.violations}, judged_bare.explain()
    assert judged_full.conformant, judged_full.explain()
