"""The bot's ICE-lite STUN responder (specs/stun.md STUN-40..50), built on aioice.stun.

A pure function from (datagram, client address, session lookup) to the answer
bytes or ``None`` for a silent discard, so it can be tested without sockets.
The responder is stateless per transaction (RFC 8489 §6.3.1), which is what makes
a retransmitted check get an equivalent answer (RACE-5, STUN-49).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from aioice import stun

Address = tuple[str, int]

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111
ATTR_USERNAME = 0x0006
ATTR_MESSAGE_INTEGRITY = 0x0008
ATTR_ERROR_CODE = 0x0009
ATTR_UNKNOWN_ATTRIBUTES = 0x000A
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_FINGERPRINT = 0x8028
ATTR_ICE_CONTROLLED = 0x8029
# Comprehension-required attributes (type < 0x8000) this responder understands; any
# other one gets a 420 (RFC 8489 §6.3.1, STUN-46). MESSAGE-INTEGRITY-SHA256 (0x001C) is
# tolerated and ignored: ICE signs with MESSAGE-INTEGRITY (RFC 8445 §7.2.2).
_UNDERSTOOD = {t for t in stun.ATTRIBUTES_BY_TYPE if t < 0x8000} | {0x001C}


@dataclass(frozen=True)
class BotCredentials:
    """What the responder needs of a session (SESS-1)."""

    bot_ufrag: str
    bot_pwd: str
    client_ufrag: str


SessionLookup = Callable[[str], BotCredentials | None]


class Outcome(Enum):
    """What the responder did; the bot counts these for its logs (never the password)."""

    SUCCESS = "success"
    BAD_REQUEST = "400"
    UNAUTHORIZED = "401"
    UNKNOWN_ATTRIBUTE = "420"
    ROLE_CONFLICT = "487"
    DISCARD_NOT_STUN = "discard-not-stun"
    DISCARD_FINGERPRINT = "discard-fingerprint"
    DISCARD_NOT_REQUEST = "discard-not-binding-request"
    DISCARD_NO_SESSION = "discard-no-session"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    data: bytes | None


def _tlvs(data: bytes) -> list[tuple[int, int, int]] | None:
    """(type, value offset, value length) of each attribute; None when the TLVs are malformed."""
    found = []
    pos = 20
    while pos < len(data):
        if pos + 4 > len(data):
            return None
        kind, length = struct.unpack_from("!HH", data, pos)
        end = pos + 4 + length
        if end > len(data):
            return None
        found.append((kind, pos + 4, length))
        pos = end + (-length % 4)
    return found if pos == len(data) else None


def bot_ufrag_of(data: bytes) -> str | None:
    """The first ufrag of USERNAME (SESS-3), for the ingress: no integrity, just routing."""
    if len(data) < 20 or data[0] & 0xC0 or struct.unpack_from("!I", data, 4)[0] != MAGIC_COOKIE:
        return None
    tlvs = _tlvs(data)
    if tlvs is None:
        return None
    for kind, offset, length in tlvs:
        if kind == ATTR_USERNAME:
            try:
                username = data[offset : offset + length].decode("utf-8")
            except UnicodeDecodeError:
                return None
            ufrag, sep, _ = username.partition(":")
            return ufrag if sep and ufrag else None
    return None


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)


def _with_length(data: bytes) -> bytes:
    return data[:2] + struct.pack("!H", len(data) - 20) + data[4:]


def encode_response(
    message_type: int, transaction_id: bytes, attributes: list[tuple[int, bytes]], key: bytes | None
) -> bytes:
    """A response: the attributes, then MESSAGE-INTEGRITY (if ``key``), then FINGERPRINT."""
    body = b"".join(_attr(kind, value) for kind, value in attributes)
    data = struct.pack("!HHI12s", message_type, len(body), MAGIC_COOKIE, transaction_id) + body
    if key is not None:
        data = _with_length(data + _attr(ATTR_MESSAGE_INTEGRITY, stun.message_integrity(data, key)))
    fingerprint = stun.message_fingerprint(data)
    return _with_length(data + _attr(ATTR_FINGERPRINT, struct.pack("!I", fingerprint)))


def _error(
    transaction_id: bytes, code: int, reason: str, key: bytes | None, extra: bytes = b""
) -> bytes:
    attributes = [(ATTR_ERROR_CODE, stun.pack_error_code((code, reason)))]
    if extra:
        attributes.append((ATTR_UNKNOWN_ATTRIBUTES, extra))
    return encode_response(BINDING_ERROR, transaction_id, attributes, key)


def answer(data: bytes, client: Address, lookup: SessionLookup) -> Answer:
    """Answer one datagram that reached the bot for ``client`` (the address the edge saw)."""
    # STUN-40: not STUN (top bits, cookie, length) -> silent discard.
    if len(data) < 20 or data[0] & 0xC0:
        return Answer(Outcome.DISCARD_NOT_STUN, None)
    message_type, length, cookie = struct.unpack_from("!HHI", data)
    if cookie != MAGIC_COOKIE or length != len(data) - 20 or length % 4:
        return Answer(Outcome.DISCARD_NOT_STUN, None)
    tlvs = _tlvs(data)
    if tlvs is None:
        return Answer(Outcome.DISCARD_NOT_STUN, None)
    # STUN-41: ICE needs FINGERPRINT, last (RFC 8445 §7.2.4); a bad one is a discard too.
    if not tlvs or tlvs[-1][0] != ATTR_FINGERPRINT:
        return Answer(Outcome.DISCARD_FINGERPRINT, None)
    # STUN-42 / STUN-20: only Binding requests are answered.
    if message_type != BINDING_REQUEST:
        return Answer(Outcome.DISCARD_NOT_REQUEST, None)
    try:
        message = stun.parse_message(data)
    except ValueError:
        # aioice verifies FINGERPRINT while parsing; other parse errors are malformed values.
        return Answer(Outcome.DISCARD_FINGERPRINT, None)
    transaction_id = message.transaction_id
    username = message.attributes.get("USERNAME")
    # STUN-43 (RFC 8489 §9.1.3): both USERNAME and MESSAGE-INTEGRITY are required.
    if username is None or "MESSAGE-INTEGRITY" not in message.attributes:
        return Answer(Outcome.BAD_REQUEST, _error(transaction_id, 400, "Bad Request", None))
    bot_ufrag, sep, client_ufrag = str(username).partition(":")
    session = lookup(bot_ufrag) if sep else None
    # STUN-44: no session for the ufrag -> nothing (a wrong DC says nothing, FB-3).
    if session is None:
        return Answer(Outcome.DISCARD_NO_SESSION, None)
    key = session.bot_pwd.encode("utf-8")
    # STUN-45: integrity or the client half of USERNAME fails -> 401 without MI.
    if client_ufrag != session.client_ufrag or not message.check_message_integrity(key):
        return Answer(Outcome.UNAUTHORIZED, _error(transaction_id, 401, "Unauthorized", None))
    # STUN-46: unknown comprehension-required attributes before MESSAGE-INTEGRITY.
    unknown = []
    for kind, _, _ in tlvs:
        if kind == ATTR_MESSAGE_INTEGRITY:
            break
        if kind < 0x8000 and kind not in _UNDERSTOOD and kind not in unknown:
            unknown.append(kind)
    if unknown:
        listed = b"".join(struct.pack("!H", kind) for kind in unknown)
        return Answer(
            Outcome.UNKNOWN_ATTRIBUTE,
            _error(transaction_id, 420, "Unknown Attribute", key, listed),
        )
    # STUN-47: the lite bot is always controlled (RFC 8445 §6.1.1), so a peer that
    # claims the controlled role too is in conflict.
    if "ICE-CONTROLLED" in message.attributes:
        return Answer(Outcome.ROLE_CONFLICT, _error(transaction_id, 487, "Role Conflict", key))
    # STUN-48: success with the client's address as the edge saw it, signed with the bot pwd.
    mapped = stun.pack_xor_address(client, transaction_id)
    response = encode_response(
        BINDING_SUCCESS, transaction_id, [(ATTR_XOR_MAPPED_ADDRESS, mapped)], key
    )
    return Answer(Outcome.SUCCESS, response)
