"""Properties of the STUN codec and checker under Hypothesis."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz.strategies.stun import (
    BuiltMessage,
    SignedCheck,
    malformed_datagrams,
    signed_ice_checks,
    stun_messages,
)
from harness.protocol.errors import StunParseError
from harness.protocol.stun_checker import check_stun
from harness.protocol.stun_message import parse_message, verify_fingerprint, verify_integrity

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(stun_messages())
def test_build_then_parse_round_trips(built: BuiltMessage) -> None:
    message = parse_message(built.data)
    assert message.method == built.method
    assert message.message_class is built.message_class
    assert message.transaction_id == built.transaction_id
    user_attrs = [(a.type, a.value) for a in message.attributes][: len(built.attributes)]
    assert user_attrs == list(built.attributes)
    assert verify_fingerprint(message) is True
    if built.key is not None:
        assert verify_integrity(message, built.key) is True


@FAST
@given(signed_ice_checks())
def test_generated_checks_are_conformant(check: SignedCheck) -> None:
    report = check_stun(check.data, password=check.bot.pwd)
    assert report.conformant, [str(v) for v in report.violations]
    message = parse_message(check.data)
    assert message.username == f"{check.bot.ufrag}:{check.client.ufrag}"


@FAST
@given(signed_ice_checks(), st.data())
def test_any_single_byte_corruption_is_detected(check: SignedCheck, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(check.data) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    corrupted = bytearray(check.data)
    corrupted[index] ^= mask
    report = check_stun(bytes(corrupted), password=check.bot.pwd)
    assert not report.conformant, f"byte {index} ^ {mask:#04x} went unnoticed"


@FAST
@given(st.one_of(st.binary(max_size=300), malformed_datagrams()))
def test_parser_raises_only_its_documented_error(data: bytes) -> None:
    try:
        parse_message(data)
    except StunParseError as error:
        outcome = str(error)
    else:
        outcome = "parsed"
    assert outcome
    # The checker never raises at all.
    check_stun(data, password="irrelevant-password-22c")
