"""ICE connectivity checks: build the request, judge each response (specs/stun.md).

A check is a STUN Binding request with the short-term credential of the bot
(RFC 8445 §7.2.2): USERNAME ``botufrag:clientufrag``, PRIORITY, ICE-CONTROLLING,
MESSAGE-INTEGRITY keyed with the bot password, FINGERPRINT last. A response
connects the call only when every check of :func:`judge_response` passes
(STUN-33, STUN-34); anything else is recorded and ignored, so a forged or
corrupted answer can delay a call but never fake one.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass
from enum import StrEnum

from aioice import stun

from harness.protocol.ice import IceCredentials

MAGIC_COOKIE = 0x2112A442
_HEADER = 20

PEER_REFLEXIVE_PREFERENCE = 110
"""RFC 8445 §7.1.1: PRIORITY is the priority the candidate would have as peer reflexive."""


def check_priority(component: int = 1, local_preference: int = 65535) -> int:
    """RFC 8445 §5.1.2.1: ``2^24 * type pref + 2^8 * local pref + (256 - component)``."""
    return (PEER_REFLEXIVE_PREFERENCE << 24) | (local_preference << 8) | (256 - component)


def new_tiebreaker() -> int:
    """A random 64-bit ICE-CONTROLLING value (RFC 8445 §7.1.3), one per call."""
    return secrets.randbits(64)


def build_check(
    bot: IceCredentials,
    client: IceCredentials,
    tiebreaker: int,
    transaction_id: bytes | None = None,
) -> tuple[bytes, bytes]:
    """One check as ``(transaction_id, datagram)``; a new transaction ID unless given (STUN-4)."""
    message = stun.Message(
        message_method=stun.Method.BINDING,
        message_class=stun.Class.REQUEST,
        transaction_id=transaction_id or secrets.token_bytes(12),
    )
    # Attribute order as RFC 8445 §7.2.2 lists them; MESSAGE-INTEGRITY then
    # FINGERPRINT must come last (RFC 8489 §14.5, §14.7), which aioice ensures.
    message.attributes["USERNAME"] = f"{bot.ufrag}:{client.ufrag}"
    message.attributes["PRIORITY"] = check_priority()
    message.attributes["ICE-CONTROLLING"] = tiebreaker
    message.add_message_integrity(bot.key)
    return message.transaction_id, bytes(message)


class CheckStatus(StrEnum):
    """The verdict on one datagram that arrived on the client's check socket."""

    SUCCESS = "success"
    ERROR_RESPONSE = "error_response"
    """An unsigned Binding error (400, 401): forgeable, so ignored; pacing goes on (STUN-33)."""
    SIGNED_ERROR = "signed_error"
    """A Binding error signed with the bot password (420, 487): a protocol error of the call."""
    NOT_STUN = "not_stun"
    MALFORMED = "malformed"
    BAD_FINGERPRINT = "bad_fingerprint"
    NO_FINGERPRINT = "no_fingerprint"
    NOT_A_RESPONSE = "not_a_response"
    UNKNOWN_TRANSACTION = "unknown_transaction"
    NON_SYMMETRIC = "non_symmetric"
    """Answer from an address other than the one the check went to (RFC 8445 §7.2.5.2.1)."""
    NO_INTEGRITY = "no_integrity"
    BAD_INTEGRITY = "bad_integrity"
    NO_MAPPED_ADDRESS = "no_mapped_address"


@dataclass(frozen=True)
class Verdict:
    status: CheckStatus
    transaction_id: bytes | None = None
    mapped_address: tuple[str, int] | None = None
    error_code: int | None = None

    @property
    def authenticated_success(self) -> bool:
        return self.status is CheckStatus.SUCCESS


@dataclass(frozen=True)
class Expected:
    """What a response to one of our transactions must match."""

    target: tuple[str, int]
    bot: IceCredentials


def _looks_like_stun(data: bytes) -> bool:
    # RFC 8489 §5: two zero bits, the magic cookie, a length that is a multiple of 4.
    if len(data) < _HEADER or data[0] & 0xC0:
        return False
    length, cookie = struct.unpack_from("!HI", data, 2)
    return bool(cookie == MAGIC_COOKIE and length % 4 == 0)


def judge_response(
    data: bytes, source: tuple[str, int], expected: dict[bytes, Expected]
) -> Verdict:
    """Judge one datagram against the transactions in flight (``expected``, by transaction ID).

    Only :attr:`CheckStatus.SUCCESS` may connect a call (STUN-33/34): a Binding
    success response, FINGERPRINT present and correct (RFC 8445 §7.2.4), our
    transaction ID echoed (RFC 8489 §6.3.1.1), from the address the check went
    to (RFC 8445 §7.2.5.2.1), MESSAGE-INTEGRITY verifying with the bot
    password (RFC 8489 §9.1.4) and an XOR-MAPPED-ADDRESS (RFC 8489 §6.3.1.1).
    """
    if not _looks_like_stun(data):
        return Verdict(CheckStatus.NOT_STUN)
    try:
        message = stun.parse_message(data)
    except ValueError as error:
        # aioice verifies FINGERPRINT while parsing and says so in the message.
        if "fingerprint" in str(error).lower():
            return Verdict(CheckStatus.BAD_FINGERPRINT)
        return Verdict(CheckStatus.MALFORMED)
    transaction_id = message.transaction_id
    if "FINGERPRINT" not in message.attributes:
        return Verdict(CheckStatus.NO_FINGERPRINT, transaction_id)
    if message.message_method != stun.Method.BINDING or message.message_class not in (
        stun.Class.RESPONSE,
        stun.Class.ERROR,
    ):
        return Verdict(CheckStatus.NOT_A_RESPONSE, transaction_id)
    wanted = expected.get(transaction_id)
    if wanted is None:
        return Verdict(CheckStatus.UNKNOWN_TRANSACTION, transaction_id)
    if (source[0], source[1]) != wanted.target:
        return Verdict(CheckStatus.NON_SYMMETRIC, transaction_id)
    if message.message_class == stun.Class.ERROR:
        signed = "MESSAGE-INTEGRITY" in message.attributes and message.check_message_integrity(
            wanted.bot.key
        )
        status = CheckStatus.SIGNED_ERROR if signed else CheckStatus.ERROR_RESPONSE
        return Verdict(status, transaction_id, error_code=message.error_code)
    if "MESSAGE-INTEGRITY" not in message.attributes:
        return Verdict(CheckStatus.NO_INTEGRITY, transaction_id)
    if not message.check_message_integrity(wanted.bot.key):
        return Verdict(CheckStatus.BAD_INTEGRITY, transaction_id)
    mapped = message.attributes.get("XOR-MAPPED-ADDRESS")
    if mapped is None:
        return Verdict(CheckStatus.NO_MAPPED_ADDRESS, transaction_id)
    return Verdict(CheckStatus.SUCCESS, transaction_id, mapped_address=(mapped[0], mapped[1]))
