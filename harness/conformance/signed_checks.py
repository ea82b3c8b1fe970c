"""Checks signed as a test asks: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 or both, each
with a password of its own (STUN-11, STUN-24, STUN-45), and what came back classified.

:mod:`harness.conformance.crafting` builds one datagram per responder-table row; these are
the checks that table has no row for: a SHA-256-signed check, and a check that reuses a
transaction ID already answered but is signed with the wrong password or another session's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from harness.protocol.ice import (
    CHECK_PRIORITY,
    IceCredentials,
    check_username,
    new_tiebreaker,
    new_transaction_id,
)
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_integrity import short_term_key
from harness.protocol.stun_message import Method, encode_message, parse_message
from harness.protocol.stun_wire import MessageClass


@dataclass(frozen=True)
class SignedCheck:
    data: bytes
    transaction_id: bytes


def signed_check(
    bot: IceCredentials,
    client: IceCredentials,
    *,
    sha1_password: str | None,
    sha256_password: str | None,
    transaction_id: bytes | None = None,
) -> SignedCheck:
    """A check for ``bot``'s session (USERNAME ``bot:client``), signed with MESSAGE-INTEGRITY
    keyed by ``sha1_password`` and/or MESSAGE-INTEGRITY-SHA256 keyed by ``sha256_password``
    (None leaves that attribute out)."""
    tx = transaction_id or new_transaction_id()
    attributes = [
        (int(AttributeType.USERNAME), check_username(bot, client).encode()),
        (int(AttributeType.PRIORITY), struct.pack("!I", CHECK_PRIORITY)),
        (int(AttributeType.ICE_CONTROLLING), struct.pack("!Q", new_tiebreaker())),
    ]
    data = encode_message(
        int(Method.BINDING),
        MessageClass.REQUEST,
        tx,
        attributes,
        integrity_key=None if sha1_password is None else short_term_key(sha1_password),
        integrity_sha256_key=None if sha256_password is None else short_term_key(sha256_password),
    )
    return SignedCheck(data, tx)


class Kind(StrEnum):
    SUCCESS = "success"
    E401 = "401"
    OTHER_ERROR = "other error"
    NOT_STUN = "not STUN"


@dataclass(frozen=True)
class Classified:
    kind: Kind
    integrity: frozenset[str]
    """Integrity attributes the answer carries: ``MESSAGE-INTEGRITY``, ``...-SHA256``."""
    error_code: int | None = None


def classify(answer: bytes) -> Classified:
    try:
        message = parse_message(answer)
    except ValueError:
        return Classified(Kind.NOT_STUN, frozenset())
    integrity = frozenset(
        name
        for name, attr_type in (
            ("MESSAGE-INTEGRITY", AttributeType.MESSAGE_INTEGRITY),
            ("MESSAGE-INTEGRITY-SHA256", AttributeType.MESSAGE_INTEGRITY_SHA256),
        )
        if message.has(attr_type)
    )
    if message.message_class is MessageClass.SUCCESS:
        return Classified(Kind.SUCCESS, integrity)
    if message.message_class is MessageClass.ERROR:
        code = message.get(AttributeType.ERROR_CODE)
        number = None
        if code is not None and len(code.value) >= 4:
            number = code.value[2] * 100 + code.value[3]
        kind = Kind.E401 if number == 401 else Kind.OTHER_ERROR
        return Classified(kind, integrity, number)
    return Classified(Kind.OTHER_ERROR, integrity)
