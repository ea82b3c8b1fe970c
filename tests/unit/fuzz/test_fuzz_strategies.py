"""The exported strategies produce what their names promise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.fuzz.strategies.sdp import profile_sdps
from harness.fuzz.strategies.stun import (
    SignedCheck,
    attribute_sets,
    malformed_datagrams,
    signed_ice_checks,
    transaction_ids,
)
from harness.protocol.ice_responder import Outcome, decide
from harness.protocol.sdp import Role
from harness.protocol.sdp_checker import check_sdp
from harness.protocol.stun_attributes import KNOWN_TYPES
from harness.protocol.stun_checker import Profile, check_stun
from harness.protocol.stun_message import Method, encode_message
from harness.protocol.stun_wire import MessageClass, scan

FEW = settings(max_examples=50, deadline=None)


@FEW
@given(signed_ice_checks())
def test_signed_checks_are_answered_with_success_by_the_bot(check: SignedCheck) -> None:
    decision = decide(check.data, ("192.0.2.1", 4000), {check.bot.ufrag: check.bot.pwd}.get)
    assert (decision.outcome, decision.requirement) == (Outcome.RESPOND, "STUN-48")


@FEW
@given(malformed_datagrams())
def test_malformed_datagrams_are_malformed(data: bytes) -> None:
    report = check_stun(data, profile=Profile.RFC)
    # Random bytes can by chance be a valid empty Binding message; all else is flagged.
    assert report.violations or not scan(data).problems


@FEW
@given(
    transaction_ids.flatmap(
        lambda tx: st.tuples(st.just(tx), attribute_sets(tx, unknown_required=True))
    )
)
def test_attribute_sets_encode_and_flag_unknown_required_types(
    drawn: tuple[bytes, list[tuple[int, bytes]]],
) -> None:
    tx, attributes = drawn
    data = encode_message(Method.BINDING, MessageClass.INDICATION, tx, attributes)
    report = check_stun(data, profile=Profile.RFC)
    unknown_required = any(t < 0x8000 and t not in KNOWN_TYPES for t, _ in attributes)
    assert ("STUN-14" in report.requirement_ids) == unknown_required


@FEW
@given(
    st.sampled_from(list(Role)).flatmap(lambda role: st.tuples(st.just(role), profile_sdps(role)))
)
def test_profile_sdps_are_conformant(drawn: tuple[Role, str]) -> None:
    role, text = drawn
    assert check_sdp(text, role) == []
