"""The bot's decision for each datagram follows specs/stun.md STUN-40..STUN-49, in order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stun_defects import (
    BOT,
    CHECK,
    CLIENT,
    CLIENT_ADDR,
    FULL_CHECK,
    TIEBREAKER,
    append_fingerprint,
    check_with,
    flip,
    without,
)

from harness.fuzz.strategies.stun import malformed_datagrams, signed_ice_checks
from harness.protocol.errors import CredentialError
from harness.protocol.ice import (
    IceCredentials,
    build_ice_check,
    check_username,
    generate_credentials,
)
from harness.protocol.ice_responder import Outcome, decide, ingress_ufrag
from harness.protocol.stun_attributes import AttributeType, ErrorCode
from harness.protocol.stun_checker import check_stun
from harness.protocol.stun_integrity import short_term_key
from harness.protocol.stun_message import parse_message, verify_integrity
from harness.protocol.stun_wire import encode_attribute, with_length

SESSIONS = {BOT.ufrag: BOT.pwd}


def run(data: bytes) -> tuple[Outcome, str, int | None, bytes | None]:
    decision = decide(data, CLIENT_ADDR, SESSIONS.get)
    return decision.outcome, decision.requirement, decision.error_code, decision.response


def test_authentic_check_gets_a_conformant_success() -> None:
    outcome, ident, code, response = run(CHECK)
    assert (outcome, ident, code) == (Outcome.RESPOND, "STUN-48", None)
    assert response is not None
    report = check_stun(response, request=CHECK, password=BOT.pwd, observed=CLIENT_ADDR)
    assert report.conformant, [str(v) for v in report.violations]


def test_retransmission_gets_an_equivalent_success() -> None:
    first, second = run(CHECK)[3], run(CHECK)[3]
    assert first is not None
    assert second is not None
    assert parse_message(first).transaction_id == parse_message(second).transaction_id
    assert parse_message(first).xor_mapped_address == parse_message(second).xor_mapped_address


def _bytes_id(value: object) -> str | None:
    # Datagrams built from fresh random credentials would give every collection its own
    # test ids, and pytest-xdist refuses workers that collected different ids.
    return "data" if isinstance(value, bytes) else None


@pytest.mark.parametrize(
    ("name", "data", "ident"),
    [
        ("not STUN", b"\x16\x03\x01" + bytes(40), "STUN-40"),
        ("bad cookie", flip(CHECK, 5), "STUN-40"),
        ("bad FINGERPRINT", flip(CHECK, len(CHECK) - 1), "STUN-41"),
        ("no FINGERPRINT", check_with(FULL_CHECK, fingerprint=False), "STUN-41"),
        (
            "unknown bot ufrag",
            build_ice_check(bot=generate_credentials(), client=CLIENT),
            "STUN-44",
        ),
    ],
    ids=_bytes_id,
)
def test_silent_discards(name: str, data: bytes, ident: str) -> None:
    outcome, found, _, response = run(data)
    assert (outcome, found, response) == (Outcome.DISCARD, ident, None), name


def test_responses_and_indications_are_discarded() -> None:
    success = run(CHECK)[3]
    assert success is not None
    assert run(success)[:2] == (Outcome.DISCARD, "STUN-42")


@pytest.mark.parametrize(
    ("name", "data", "ident", "code", "signed"),
    [
        ("no USERNAME", check_with(without(AttributeType.USERNAME)), "STUN-43", 400, False),
        ("no MESSAGE-INTEGRITY", check_with(FULL_CHECK, key=None), "STUN-43", 400, False),
        ("wrong password", check_with(FULL_CHECK, key=b"nope"), "STUN-45", 401, False),
        ("unknown required attr", check_with([*FULL_CHECK, (0x7F01, b"x")]), "STUN-46", 420, True),
        (
            "ICE-CONTROLLED",
            check_with(
                [
                    *without(AttributeType.ICE_CONTROLLING),
                    (AttributeType.ICE_CONTROLLED, TIEBREAKER),
                ]
            ),
            "STUN-47",
            487,
            True,
        ),
    ],
    ids=_bytes_id,
)
def test_error_answers(name: str, data: bytes, ident: str, code: int, signed: bool) -> None:
    outcome, found, error_code, response = run(data)
    assert (outcome, found, error_code) == (Outcome.RESPOND, ident, code), name
    assert response is not None
    message = parse_message(response)
    error = message.get(AttributeType.ERROR_CODE)
    assert error is not None
    assert isinstance(error.decoded, ErrorCode)
    assert error.decoded.code == code
    assert (verify_integrity(message, short_term_key(BOT.pwd)) is True) is signed
    report = check_stun(response, request=data, password=BOT.pwd)
    assert report.conformant, [str(v) for v in report.violations]
    if code == 420:
        unknown = message.get(AttributeType.UNKNOWN_ATTRIBUTES)
        assert unknown is not None
        assert unknown.decoded == (0x7F01,)


def test_check_username_puts_the_bot_first_and_respects_the_cap() -> None:
    assert check_username(BOT, CLIENT) == f"{BOT.ufrag}:{CLIENT.ufrag}"
    long = IceCredentials("u" * 256, "p" * 22)
    with pytest.raises(CredentialError, match="509"):
        check_username(long, long)


@pytest.mark.parametrize(
    ("ufrag", "pwd"), [("abc", "p" * 22), ("abcd", "p" * 21), ("ab!d", "p" * 22)]
)
def test_credentials_outside_rfc_8839_are_refused(ufrag: str, pwd: str) -> None:
    with pytest.raises(CredentialError, match="RFC 8839"):
        IceCredentials(ufrag, pwd)


def test_ingress_reads_the_bot_ufrag_of_a_check() -> None:
    assert ingress_ufrag(CHECK) == BOT.ufrag
    assert ingress_ufrag(check_with(FULL_CHECK, key=None)) == BOT.ufrag  # the bot answers 400


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("not STUN", b"\x16\x03\x01" + bytes(40)),
        ("bad FINGERPRINT", flip(CHECK, len(CHECK) - 1)),
        ("no FINGERPRINT", check_with(FULL_CHECK, fingerprint=False)),
        ("no USERNAME", check_with(without(AttributeType.USERNAME))),
        ("USERNAME without colon", check_with([(AttributeType.USERNAME, b"B0tUfrag")])),
        ("USERNAME with empty bot half", check_with([(AttributeType.USERNAME, b":CliUfrag")])),
        ("USERNAME not UTF-8", check_with([(AttributeType.USERNAME, b"\xff:x")])),
    ],
    ids=_bytes_id,
)
def test_ingress_drops_what_has_no_bot_ufrag(name: str, data: bytes) -> None:
    assert ingress_ufrag(data) is None, name


def test_a_username_without_a_colon_names_no_session() -> None:
    data = check_with([(AttributeType.USERNAME, BOT.ufrag.encode())])
    assert run(data)[:2] == (Outcome.DISCARD, "STUN-44")


def test_only_the_bot_half_of_username_names_the_session() -> None:
    # RFC 8445 §7.3 checks the first value only; the password is what authenticates.
    data = check_with([(AttributeType.USERNAME, f"{BOT.ufrag}:SomeoneElse".encode())])
    assert run(data)[:2] == (Outcome.RESPOND, "STUN-48")


@settings(max_examples=200, deadline=None)
@given(st.one_of(malformed_datagrams(), signed_ice_checks().map(lambda c: c.data)))
def test_ingress_passes_only_what_the_bot_would_judge_past_stun_42(data: bytes) -> None:
    looked_up: list[str] = []

    def lookup(ufrag: str) -> str | None:
        looked_up.append(ufrag)
        return None

    decision = decide(data, CLIENT_ADDR, lookup)
    ufrag = ingress_ufrag(data)
    if decision.requirement in ("STUN-40", "STUN-41", "STUN-42"):
        assert ufrag is None
    if looked_up:
        assert ufrag == looked_up[0]


def _signed_then(extra: tuple[int, bytes]) -> bytes:
    """A check signed over FULL_CHECK with ``extra`` placed after MESSAGE-INTEGRITY."""
    signed = check_with(FULL_CHECK, fingerprint=False)
    body = signed + encode_attribute(*extra)
    return append_fingerprint(with_length(body, len(body) - 20))


@pytest.mark.requirements("STUN-43", "STUN-15")
@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("PRIORITY of 3 bytes", (AttributeType.PRIORITY, b"\x6e\x00\xff")),
        ("PRIORITY of 0", (AttributeType.PRIORITY, bytes(4))),
        ("ICE-CONTROLLING of 4 bytes", (AttributeType.ICE_CONTROLLING, bytes(4))),
        ("ICE-CONTROLLED of 9 bytes", (AttributeType.ICE_CONTROLLED, bytes(9))),
        ("USE-CANDIDATE not empty", (AttributeType.USE_CANDIDATE, b"\x01")),
        ("USERNAME not UTF-8", (AttributeType.USERNAME, b"B0tUfrag:\xff\xfe")),
        ("USERNAME of 509 bytes", (AttributeType.USERNAME, b"B0tUfrag:" + b"a" * 500)),
        (
            "XOR-MAPPED-ADDRESS of family 3",
            (AttributeType.XOR_MAPPED_ADDRESS, b"\x00\x03" + bytes(6)),
        ),
        ("ERROR-CODE of class 2", (AttributeType.ERROR_CODE, b"\x00\x00\x02\x00")),
    ],
)
def test_a_known_attribute_that_does_not_decode_is_answered_400_unsigned(
    name: str, attribute: tuple[int, bytes]
) -> None:
    attributes = [(t, v) for t, v in FULL_CHECK if t != attribute[0]]
    data = check_with([*attributes, attribute])
    outcome, found, code, response = run(data)
    assert (outcome, found, code) == (Outcome.RESPOND, "STUN-43", 400), name
    assert response is not None
    message = parse_message(response)
    assert message.get(AttributeType.MESSAGE_INTEGRITY) is None
    assert message.transaction_id == parse_message(CHECK).transaction_id


@pytest.mark.requirements("STUN-43", "STUN-7")
def test_a_malformed_attribute_after_message_integrity_is_ignored() -> None:
    # RFC 8489 §14.5: what follows MESSAGE-INTEGRITY is ignored, so it is never decoded.
    data = _signed_then((AttributeType.PRIORITY, b"\x01\x02\x03"))
    outcome, found, code, _ = run(data)
    assert (outcome, found, code) == (Outcome.RESPOND, "STUN-48", None)


@pytest.mark.requirements("STUN-43", "STUN-40")
def test_a_truncated_attribute_list_is_not_stun_and_is_discarded() -> None:
    # The last attribute claims more bytes than the message holds: framing, not a value.
    truncated = bytearray(CHECK)
    truncated[22:24] = (0x0200).to_bytes(2, "big")  # USERNAME length far past the end
    outcome, found, _, response = run(bytes(truncated))
    assert (outcome, found, response) == (Outcome.DISCARD, "STUN-40", None)
