"""Every place that matches a response to its request compares all 12 bytes of the
transaction ID (STUN-5, STUN-33): an answer whose ID differs in one byte only, the last
or any other, is another transaction's; and a changed magic cookie is no STUN at all.

A comparison over a prefix (``tx[:8]``) or over a mask would pass a test whose stray ID
differs in every byte; these IDs differ in exactly one.
"""

from __future__ import annotations

import pytest

from harness.client.checks import CheckStatus, Expected, judge_response
from harness.conformance.datagrams import Answer, Exchange
from harness.protocol.ice import IceCredentials, build_binding_success, build_ice_check
from harness.protocol.stun_checker import check_stun

BOT = IceCredentials("B0tUfrag", "botPasswordIsLongEnough1")
CLIENT = IceCredentials("CliUfrag", "clientPasswordIsLong+/22")
TX = bytes.fromhex("a1a2a3a4a5a6a7a8a9aaabac")
CLIENT_ADDR = ("198.51.100.7", 40000)
BOT_ADDR = ("203.0.113.5", 3478)
CHECK = build_ice_check(bot=BOT, client=CLIENT, transaction_id=TX)


def one_byte_off(index: int) -> bytes:
    changed = bytearray(TX)
    changed[index] ^= 0x01
    return bytes(changed)


def answer_for(transaction_id: bytes) -> bytes:
    """A correctly signed success for a check with ``transaction_id`` (else identical)."""
    check = build_ice_check(bot=BOT, client=CLIENT, transaction_id=transaction_id)
    return build_binding_success(check, password=BOT.pwd, mapped=CLIENT_ADDR)


POSITIONS = [pytest.param(i, id=f"byte{i}") for i in range(12)]


def test_the_exact_echo_is_accepted_everywhere() -> None:
    # The positive control: without it the tests below could pass on a checker that
    # rejects everything.
    answer = answer_for(TX)
    assert check_stun(answer, request=CHECK, password=BOT.pwd).conformant
    verdict = judge_response(answer, BOT_ADDR, {TX: Expected(BOT_ADDR, BOT)})
    assert verdict.status is CheckStatus.SUCCESS
    assert verdict.transaction_id == TX


@pytest.mark.parametrize("index", POSITIONS)
def test_checker_reports_an_id_differing_in_one_byte(index: int) -> None:
    report = check_stun(answer_for(one_byte_off(index)), request=CHECK, password=BOT.pwd)

    assert "STUN-5" in report.requirement_ids, report.describe()
    assert any("does not echo" in v.message for v in report.violations), report.describe()


@pytest.mark.parametrize("index", POSITIONS)
def test_client_discards_an_answer_differing_in_one_byte(index: int) -> None:
    verdict = judge_response(
        answer_for(one_byte_off(index)), BOT_ADDR, {TX: Expected(BOT_ADDR, BOT)}
    )

    assert verdict.status is CheckStatus.UNKNOWN_TRANSACTION


@pytest.mark.parametrize("index", POSITIONS)
def test_conformance_probe_does_not_count_an_answer_differing_in_one_byte(index: int) -> None:
    stray = Answer(answer_for(one_byte_off(index)), BOT_ADDR, 1.0)
    exact = Answer(answer_for(TX), BOT_ADDR, 2.0)
    result = Exchange(BOT_ADDR, CLIENT_ADDR, (CHECK,), (stray, exact))

    assert result.answers_to(TX) == [exact]


def test_a_changed_magic_cookie_is_not_an_answer() -> None:
    # The cookie sits right before the ID (bytes 4..8): an off-by-four slice would read it.
    answer = bytearray(answer_for(TX))
    answer[7] ^= 0x01

    assert "STUN-2" in check_stun(bytes(answer), request=CHECK).requirement_ids
    verdict = judge_response(bytes(answer), BOT_ADDR, {TX: Expected(BOT_ADDR, BOT)})
    assert verdict.status is CheckStatus.NOT_STUN
