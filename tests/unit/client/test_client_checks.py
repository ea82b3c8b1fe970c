"""Check messages and the judging of responses (STUN-21..24, STUN-33)."""

from __future__ import annotations

from aioice import stun

from harness.client.checks import (
    CheckStatus,
    Expected,
    build_check,
    check_priority,
    judge_response,
    new_tiebreaker,
)
from harness.protocol.ice import IceCredentials
from harness.protocol.stun_checker import check_stun

BOT = IceCredentials.generate()
CLIENT = IceCredentials.generate()
EDGE = ("127.10.1.1", 3478)
CLIENT_ADDR = ("127.1.1.10", 40000)


def _check() -> tuple[bytes, bytes]:
    return build_check(BOT, CLIENT, new_tiebreaker())


def _success(request: bytes, *, key: bytes = BOT.key) -> bytes:
    parsed = stun.parse_message(request)
    response = stun.Message(
        stun.Method.BINDING,
        stun.Class.RESPONSE,
        transaction_id=parsed.transaction_id,
        attributes={"XOR-MAPPED-ADDRESS": CLIENT_ADDR},
    )
    response.add_message_integrity(key)
    return bytes(response)


def test_check_passes_the_strict_checker() -> None:
    _, datagram = _check()
    report = check_stun(datagram, password=BOT.pwd)
    assert report.conformant, [str(v) for v in report.violations]


def test_check_attributes() -> None:
    tiebreaker = new_tiebreaker()
    transaction_id, datagram = build_check(BOT, CLIENT, tiebreaker)
    message = stun.parse_message(datagram)  # verifies FINGERPRINT
    assert message.transaction_id == transaction_id
    assert message.attributes["USERNAME"] == f"{BOT.ufrag}:{CLIENT.ufrag}"
    assert message.attributes["PRIORITY"] == check_priority() == (110 << 24) | (65535 << 8) | 255
    assert message.attributes["ICE-CONTROLLING"] == tiebreaker
    assert "ICE-CONTROLLED" not in message.attributes
    assert message.check_message_integrity(BOT.key)
    assert list(message.attributes)[-1] == "FINGERPRINT"
    # A new transaction each time (STUN-4), unless the ID is given (retransmission).
    assert _check()[0] != _check()[0]
    assert build_check(BOT, CLIENT, tiebreaker, transaction_id)[1] == datagram


def test_only_an_authentic_success_counts() -> None:
    transaction_id, request = _check()
    expected = {transaction_id: Expected(EDGE, BOT)}
    verdict = judge_response(_success(request), EDGE, expected)
    assert verdict.status is CheckStatus.SUCCESS
    assert verdict.mapped_address == CLIENT_ADDR


def test_rejections() -> None:
    transaction_id, request = _check()
    expected = {transaction_id: Expected(EDGE, BOT)}
    good = _success(request)

    def status(data: bytes, source: tuple[str, int] = EDGE) -> CheckStatus:
        return judge_response(data, source, expected).status

    assert status(_success(request, key=b"wrong password entirely")) is CheckStatus.BAD_INTEGRITY
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    assert status(bytes(flipped)) is CheckStatus.BAD_FINGERPRINT
    assert status(good, ("127.10.9.9", 3478)) is CheckStatus.NON_SYMMETRIC
    assert status(b"hello, not stun at all") is CheckStatus.NOT_STUN
    assert status(request) is CheckStatus.NOT_A_RESPONSE
    _, other_request = _check()
    assert status(_success(other_request)) is CheckStatus.UNKNOWN_TRANSACTION

    parsed = stun.parse_message(request)
    unsigned = stun.Message(
        stun.Method.BINDING,
        stun.Class.ERROR,
        transaction_id=parsed.transaction_id,
        attributes={"ERROR-CODE": (401, "Unauthenticated")},
    )
    unsigned.add_fingerprint()
    assert status(bytes(unsigned)) is CheckStatus.ERROR_RESPONSE
    no_fingerprint = stun.Message(
        stun.Method.BINDING,
        stun.Class.RESPONSE,
        transaction_id=parsed.transaction_id,
        attributes={"XOR-MAPPED-ADDRESS": CLIENT_ADDR},
    )
    assert status(bytes(no_fingerprint)) is CheckStatus.NO_FINGERPRINT
