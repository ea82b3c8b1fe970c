"""What the bot (ICE-lite, always controlled) does with one datagram (specs/stun.md §4).

A pure function so that the reference stack, the conformance suite and the
fuzzers share one reading of the rules; it keeps no state, which is why a
retransmitted check gets an equivalent answer for free (STUN-49).

This is also the reference stack's hot path: its bots answer every check with
:func:`decide` (the 500-concurrent-call benchmark runs through it), and its DC
media ingresses route every check with :func:`ingress_ufrag`. So each datagram
is scanned once, the success response is encoded directly rather than through
aioice (which serialises a message three times to sign it), and nothing is
decoded that a rule does not read.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from .errors import AttributeValueError
from .ice import build_binding_error
from .stun_attributes import (
    KNOWN_TYPES,
    AttributeType,
    comprehension_required,
)
from .stun_integrity import fingerprint, short_term_key
from .stun_message import (
    Method,
    StunMessage,
    decode_attributes,
    encode_message,
    verify_integrity,
)
from .stun_wire import (
    HEADER_LENGTH,
    MAGIC_COOKIE_BYTES,
    MessageClass,
    WireScan,
    encode_type,
    looks_like_stun,
    scan,
)

PasswordLookup = Callable[[str], str | None]
"""Bot ufrag -> bot ice-pwd, or None when no session holds that ufrag."""

BINDING_REQUEST = encode_type(Method.BINDING, MessageClass.REQUEST)
_FINGERPRINT_TLV = struct.pack("!HH", AttributeType.FINGERPRINT, 4)
_INTEGRITY_TYPES = (AttributeType.MESSAGE_INTEGRITY, AttributeType.MESSAGE_INTEGRITY_SHA256)
_AFTER_INTEGRITY = (*_INTEGRITY_TYPES, AttributeType.FINGERPRINT)
"""What may follow MESSAGE-INTEGRITY and still count (STUN-7)."""


class Outcome(Enum):
    DISCARD = "discard"
    RESPOND = "respond"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    requirement: str
    reason: str
    response: bytes | None = None
    error_code: int | None = None


def _discard(requirement: str, reason: str) -> Decision:
    return Decision(Outcome.DISCARD, requirement, reason)


def _error(requirement: str, reason: str, response: bytes, code: int) -> Decision:
    return Decision(Outcome.RESPOND, requirement, reason, response, code)


def decide(datagram: bytes, source: tuple[str, int], lookup: PasswordLookup) -> Decision:
    """Apply the responder rules STUN-40..STUN-48 in their order.

    ``source`` is the client's transport address as the responder sees it
    (the reference edges preserve it through their relays).
    """
    wire = scan(datagram)
    if wire.problems:
        return _discard("STUN-40", f"not STUN: {wire.problems[0].detail}")
    last = wire.attributes[-1] if wire.attributes else None
    if last is None or last.type != AttributeType.FINGERPRINT:
        return _discard("STUN-41", "FINGERPRINT missing or not last")
    if len(last.value) != 4 or int.from_bytes(last.value, "big") != fingerprint(
        wire.data[: last.offset]
    ):
        return _discard("STUN-41", "FINGERPRINT does not match")
    if wire.message_type != BINDING_REQUEST:
        return _discard("STUN-42", "only Binding requests are answered")

    try:
        request = _decode(wire)
    except AttributeValueError as error:
        assert wire.transaction_id is not None
        minimal = StunMessage(Method.BINDING, MessageClass.REQUEST, wire.transaction_id, (), b"")
        return _error(
            "STUN-43",
            f"unreadable request: {error.message}",
            build_binding_error(minimal, 400),
            400,
        )
    present = {attr.type for attr in request.attributes}
    signed_sha1 = AttributeType.MESSAGE_INTEGRITY in present
    signed_sha256 = AttributeType.MESSAGE_INTEGRITY_SHA256 in present
    username = request.username
    if username is None or not (signed_sha1 or signed_sha256):
        return _error(
            "STUN-43",
            "USERNAME or MESSAGE-INTEGRITY missing",
            build_binding_error(request, 400),
            400,
        )
    bot_ufrag, colon, _ = username.partition(":")
    if not (colon and bot_ufrag):
        # RFC 8445 §7.3: a valid USERNAME is two values separated by a colon.
        return _discard("STUN-44", f"USERNAME {username!r} names no bot ufrag")
    password = lookup(bot_ufrag)
    if password is None:
        return _discard("STUN-44", f"no session for ufrag {bot_ufrag!r}")
    key = _key(password)
    if not verify_integrity(request, key):
        return _error(
            "STUN-45",
            "MESSAGE-INTEGRITY does not verify",
            build_binding_error(request, 401),
            401,
        )
    covered = _authenticated_part(request)
    unknown = [t for t in covered if comprehension_required(t) and t not in KNOWN_TYPES]
    if unknown:
        return _error(
            "STUN-46",
            "unknown comprehension-required attributes",
            build_binding_error(request, 420, password=password, unknown_attributes=unknown),
            420,
        )
    if AttributeType.ICE_CONTROLLED in covered:
        return _error(
            "STUN-47",
            "ICE-CONTROLLED: the bot is ICE-lite and never controlling",
            build_binding_error(request, 487, password=password),
            487,
        )
    # A response carries the integrity attributes its request carried (RFC 8489
    # §9.1.3): a check signed with MI-SHA256 only is answered with MI-SHA256 only.
    response = encode_message(
        Method.BINDING,
        MessageClass.SUCCESS,
        request.transaction_id,
        [(AttributeType.XOR_MAPPED_ADDRESS, _xor_mapped_address(source, request.transaction_id))],
        integrity_key=key if signed_sha1 else None,
        integrity_sha256_key=key if signed_sha256 else None,
    )
    return Decision(Outcome.RESPOND, "STUN-48", "authentic check", response)


def ingress_ufrag(datagram: bytes) -> str | None:
    """The bot ufrag a DC media ingress looks up (SESS-3), or None to discard the datagram.

    The password-free part of the rules, which the ingress applies before any
    lookup: STUN-40 (not STUN), STUN-41 (FINGERPRINT missing, not last or
    wrong), STUN-42 (not a Binding request) and STUN-44's key, the USERNAME
    part before the first colon. A request without a readable USERNAME is
    dropped here too (SESS-3). Whenever :func:`decide` would discard a datagram
    under STUN-40..42 this returns None; everything it lets through, the bot
    judges again in full.

    A hand-rolled TLV walk instead of :func:`scan`, because it runs for every
    check of every call and needs no per-attribute objects.
    """
    if not looks_like_stun(datagram) or struct.unpack_from("!H", datagram)[0] != BINDING_REQUEST:
        return None
    username: bytes | None = None
    pos, end, last = HEADER_LENGTH, len(datagram), -1
    while pos < end:
        if end - pos < 4:
            return None
        kind, length = struct.unpack_from("!HH", datagram, pos)
        value_end = pos + 4 + length
        if value_end + (-length % 4) > end:
            return None
        if kind == AttributeType.USERNAME and username is None:
            username = datagram[pos + 4 : value_end]
        last, pos = pos, value_end + (-length % 4)
    if last < 0 or datagram[last : last + 4] != _FINGERPRINT_TLV:
        return None
    if int.from_bytes(datagram[last + 4 : last + 8], "big") != fingerprint(datagram[:last]):
        return None
    if username is None:
        return None
    try:
        text = username.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bot_ufrag, colon, _ = text.partition(":")
    return bot_ufrag if colon and bot_ufrag else None


def _decode(wire: WireScan) -> StunMessage:
    """The request's attributes that count, decoded (STUN-43).

    parse_message() minus its own scan(): decide() has scanned already and found
    no framing problem, so only the attribute values remain to be decoded. What
    follows the first integrity attribute, other than MESSAGE-INTEGRITY-SHA256 and
    FINGERPRINT, is ignored (RFC 8489 §14.5, STUN-7): it is left out undecoded, so
    a malformed value there is no reason for a 400.
    """
    transaction_id = wire.transaction_id
    assert transaction_id is not None
    counted = []
    signed = False
    for raw in wire.attributes:
        if signed and raw.type not in _AFTER_INTEGRITY:
            continue
        signed = signed or raw.type in _INTEGRITY_TYPES
        counted.append(raw)
    if len(counted) < len(wire.attributes):
        wire = replace(wire, attributes=tuple(counted))
    return StunMessage(
        Method.BINDING,
        MessageClass.REQUEST,
        transaction_id,
        decode_attributes(wire),
        wire.data,
    )


def _key(password: str) -> bytes:
    # OpaqueString only maps non-ASCII spaces and applies NFC, both the identity on
    # ASCII, and ICE passwords are ASCII ice-chars (RFC 8839 §5.4): skip the
    # per-character stringprep walk on the hot path. Anything else takes the full road.
    return password.encode("ascii") if password.isascii() else short_term_key(password)


def _authenticated_part(message: StunMessage) -> list[int]:
    # Attributes after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5), so they
    # can neither trigger a 420 nor a role conflict.
    types = []
    for attr in message.attributes:
        if attr.type in _INTEGRITY_TYPES:
            break
        types.append(attr.type)
    return types


def _xor_mapped_address(mapped: tuple[str, int], transaction_id: bytes) -> bytes:
    """XOR-MAPPED-ADDRESS (RFC 8489 §14.2), as stun_attributes.encode_address builds it.

    inet_pton instead of the ipaddress module: a third of the cost of a success.
    """
    host, port = mapped
    if ":" in host:
        family, packed = 0x02, socket.inet_pton(socket.AF_INET6, host)
    else:
        family, packed = 0x01, socket.inet_pton(socket.AF_INET, host)
    pad = MAGIC_COOKIE_BYTES + transaction_id
    xored = bytes(a ^ b for a, b in zip(packed, pad, strict=False))
    return struct.pack("!BBH", 0, family, port ^ 0x2112) + xored
