"""The ICE-lite bot's rules (specs/stun.md §4), split as the spec splits them.

``ingress_ufrag`` is the part a media ingress runs before it knows the session
(STUN-40..42, SESS-3, STUN-44); ``answer`` is the bot's part, run once the
session (hence the password) is known (STUN-43, 45..50).
"""

from __future__ import annotations

from dataclasses import dataclass

from peers.compact import stun


@dataclass(frozen=True)
class Check:
    """A datagram the ingress accepted as a Binding request naming a bot ufrag."""

    message: stun.Message
    bot_ufrag: str


def ingress_ufrag(data: bytes) -> Check | None:
    """The check and its bot ufrag, or None when the ingress must discard the datagram."""
    message = stun.parse(data)
    if message is None:  # STUN-40
        return None
    if not stun.fingerprint_ok(message):  # STUN-41
        return None
    if message.method != stun.BINDING or message.cls != stun.CLASS_REQUEST:  # STUN-42
        return None
    username = message.first(stun.USERNAME)
    if username is None:  # SESS-3: nothing to route by
        return None
    try:
        text = username.value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bot_ufrag, colon, _ = text.partition(":")
    if not colon or not bot_ufrag:  # STUN-44: no bot ufrag named
        return None
    return Check(message, bot_ufrag)


def _malformed(message: stun.Message) -> bool:
    """STUN-15: a known attribute whose value does not decode (answered 400, STUN-43)."""
    for attribute in message.attributes:
        size = len(attribute.value)
        if attribute.type == stun.USERNAME:
            if size >= 509:
                return True
            try:
                attribute.value.decode("utf-8")
            except UnicodeDecodeError:
                return True
        elif attribute.type == stun.PRIORITY:
            if size != 4 or attribute.value == b"\x00\x00\x00\x00":
                return True
        elif attribute.type in (stun.ICE_CONTROLLING, stun.ICE_CONTROLLED):
            if size != 8:
                return True
        elif attribute.type == stun.USE_CANDIDATE:
            if size != 0:
                return True
        elif attribute.type == stun.MESSAGE_INTEGRITY:
            if size != 20:
                return True
        elif attribute.type == stun.MESSAGE_INTEGRITY_SHA256 and (
            size < 16 or size > 32 or size % 4
        ):
            return True
    return False


def _before_integrity(message: stun.Message) -> list[stun.Attribute]:
    """Attributes covered by integrity; later ones are unauthenticated and ignored (STUN-7)."""
    covered: list[stun.Attribute] = []
    for attribute in message.attributes:
        if attribute.type in (stun.MESSAGE_INTEGRITY, stun.MESSAGE_INTEGRITY_SHA256):
            break
        covered.append(attribute)
    return covered


def _error(message: stun.Message, code: int, reason: str) -> stun.Builder:
    return stun.Builder(stun.BINDING, stun.CLASS_ERROR, message.transaction_id).add_error(
        code, reason
    )


def _signed(builder: stun.Builder, message: stun.Message, key: bytes) -> bytes:
    """The answer signed with the integrity attributes the check carried (RFC 8489 §9.1.3):
    a check signed with MESSAGE-INTEGRITY-SHA256 alone gets MESSAGE-INTEGRITY-SHA256 alone."""
    if message.first(stun.MESSAGE_INTEGRITY) is not None:
        builder.add_integrity(key)
    if message.first(stun.MESSAGE_INTEGRITY_SHA256) is not None:
        builder.add_integrity_sha256(key)
    return builder.finish()


def answer(check: Check, bot_pwd: str, source: tuple[str, int]) -> bytes:
    """The bot's response to a check for a session it owns (STUN-43..50)."""
    message = check.message
    key = bot_pwd.encode()
    has_integrity = (
        message.first(stun.MESSAGE_INTEGRITY) is not None
        or message.first(stun.MESSAGE_INTEGRITY_SHA256) is not None
    )
    if _malformed(message) or not has_integrity:  # STUN-43: 400, unsigned (STUN-50)
        return _error(message, 400, "Bad Request").finish()
    if not stun.integrity_ok(message, key):  # STUN-45: 401, unsigned
        return _error(message, 401, "Unauthenticated").finish()
    covered = _before_integrity(message)
    unknown = [a.type for a in covered if a.type < 0x8000 and a.type not in stun.KNOWN_REQUIRED]
    if unknown:  # STUN-46: 420 listing them, signed
        listing = b"".join(t.to_bytes(2, "big") for t in dict.fromkeys(unknown))
        builder = _error(message, 420, "Unknown Attribute").add(stun.UNKNOWN_ATTRIBUTES, listing)
        return _signed(builder, message, key)
    if any(a.type == stun.ICE_CONTROLLED for a in covered):  # STUN-47: a lite bot never controls
        return _signed(_error(message, 487, "Role Conflict"), message, key)
    # STUN-48/49: stateless success; the same check always gets the same answer.
    builder = stun.Builder(stun.BINDING, stun.CLASS_SUCCESS, message.transaction_id)
    builder.add_xor_mapped_address(source[0], source[1])
    return _signed(builder, message, key)
