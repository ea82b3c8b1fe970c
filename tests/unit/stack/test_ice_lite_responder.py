"""The bot's ICE-lite responder as a pure function (STUN-40..50), no sockets."""

from __future__ import annotations

import secrets
import struct

from aioice import stun

from harness.stack.ice_lite import BotCredentials, Outcome, answer, bot_ufrag_of

SESSION = BotCredentials("botufrag0001", "b" * 32, "cliufrag0001")
CLIENT = ("127.77.10.10", 40000)


def lookup(ufrag: str) -> BotCredentials | None:
    return SESSION if ufrag == SESSION.bot_ufrag else None


def request(
    *,
    username: str | None = "botufrag0001:cliufrag0001",
    password: str | None = "b" * 32,
    role: str = "ICE-CONTROLLING",
    fingerprint: bool = True,
    message_class: stun.Class = stun.Class.REQUEST,
) -> bytes:
    message = stun.Message(stun.Method.BINDING, message_class)
    if username is not None:
        message.attributes["USERNAME"] = username
    message.attributes["PRIORITY"] = 0x6E7F1EFF
    message.attributes[role] = secrets.randbits(64)
    if password is not None:
        message.add_message_integrity(password.encode())
        if not fingerprint:
            del message.attributes["FINGERPRINT"]
    elif fingerprint:
        message.add_fingerprint()
    return bytes(message)


def test_success_is_signed_and_maps_the_client_address() -> None:
    data = request()
    result = answer(data, CLIENT, lookup)
    assert result.outcome is Outcome.SUCCESS
    assert result.data is not None
    response = stun.parse_message(result.data)
    assert response.message_class == stun.Class.RESPONSE
    assert response.transaction_id == data[8:20]
    assert response.attributes["XOR-MAPPED-ADDRESS"] == CLIENT
    assert response.check_message_integrity(SESSION.bot_pwd.encode())
    assert "FINGERPRINT" in response.attributes


def test_retransmission_gets_an_equivalent_answer() -> None:
    data = request()
    assert answer(data, CLIENT, lookup).data == answer(data, CLIENT, lookup).data


def test_wrong_password_is_401_without_integrity() -> None:
    result = answer(request(password="x" * 32), CLIENT, lookup)
    assert result.outcome is Outcome.UNAUTHORIZED
    assert result.data is not None
    response = stun.parse_message(result.data)
    assert response.attributes["ERROR-CODE"][0] == 401
    assert "MESSAGE-INTEGRITY" not in response.attributes


def test_wrong_client_half_of_username_is_401() -> None:
    result = answer(request(username="botufrag0001:someoneelse"), CLIENT, lookup)
    assert result.outcome is Outcome.UNAUTHORIZED


def test_missing_integrity_or_username_is_400() -> None:
    assert answer(request(password=None), CLIENT, lookup).outcome is Outcome.BAD_REQUEST
    assert answer(request(username=None), CLIENT, lookup).outcome is Outcome.BAD_REQUEST


def test_controlled_peer_is_a_signed_487() -> None:
    result = answer(request(role="ICE-CONTROLLED"), CLIENT, lookup)
    assert result.outcome is Outcome.ROLE_CONFLICT
    assert result.data is not None
    response = stun.parse_message(result.data)
    assert response.attributes["ERROR-CODE"][0] == 487
    assert response.check_message_integrity(SESSION.bot_pwd.encode())


def test_unknown_comprehension_required_attribute_is_420_listing_it() -> None:
    message = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
    message.attributes["USERNAME"] = "botufrag0001:cliufrag0001"
    raw = bytes(message) + struct.pack("!HH", 0x0031, 4) + b"\x00\x00\x00\x00"
    raw = raw[:2] + struct.pack("!H", len(raw) - 20) + raw[4:]
    # Sign by hand: aioice cannot carry an attribute it does not know.
    key = SESSION.bot_pwd.encode()
    raw += struct.pack("!HH", 0x0008, 20) + stun.message_integrity(raw, key)
    raw = raw[:2] + struct.pack("!H", len(raw) - 20) + raw[4:]
    raw += struct.pack("!HHI", 0x8028, 4, stun.message_fingerprint(raw))
    raw = raw[:2] + struct.pack("!H", len(raw) - 20) + raw[4:]
    result = answer(raw, CLIENT, lookup)
    assert result.outcome is Outcome.UNKNOWN_ATTRIBUTE
    assert result.data is not None
    assert struct.pack("!HHH", 0x000A, 2, 0x0031) in result.data
    assert stun.parse_message(result.data).check_message_integrity(key)


def test_silent_discards() -> None:
    assert answer(b"hello world, not stun", CLIENT, lookup).data is None
    assert answer(request(fingerprint=False), CLIENT, lookup).outcome is Outcome.DISCARD_FINGERPRINT
    broken = bytearray(request())
    broken[-1] ^= 0xFF
    assert answer(bytes(broken), CLIENT, lookup).outcome is Outcome.DISCARD_FINGERPRINT
    indication = request(message_class=stun.Class.INDICATION)
    assert answer(indication, CLIENT, lookup).outcome is Outcome.DISCARD_NOT_REQUEST
    stranger = request(username="nosuchsession:cliufrag0001")
    assert answer(stranger, CLIENT, lookup).outcome is Outcome.DISCARD_NO_SESSION


def test_ingress_reads_the_bot_ufrag_without_checking_integrity() -> None:
    assert bot_ufrag_of(request()) == "botufrag0001"
    assert bot_ufrag_of(request(username=None)) is None
    assert bot_ufrag_of(request(username="nocolon")) is None
    assert bot_ufrag_of(b"\x00" * 10) is None
