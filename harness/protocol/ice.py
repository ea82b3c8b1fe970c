"""ICE credentials and the messages of a ULLC check exchange (RFC 8445 §7, RFC 8839 §5.4).

Checks and plain success responses are built and signed by aioice; what aioice
cannot express (MI-SHA256, UNKNOWN-ATTRIBUTES) goes through
:func:`harness.protocol.stun_message.encode_message`.
"""

from __future__ import annotations

import base64
import functools
import math
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from random import Random

from aioice import stun as aioice_stun

from .errors import CredentialError
from .stun_attributes import AttributeType, encode_address, encode_error_code
from .stun_integrity import short_term_key
from .stun_message import Method, StunMessage, encode_message, parse_message
from .stun_wire import MessageClass

ICE_CHARS = string.ascii_letters + string.digits + "+/"
_ICE_CHAR_RUN = re.compile(r"[A-Za-z0-9+/]*")
UFRAG_LENGTH = (4, 256)
PWD_LENGTH = (22, 256)
BITS_PER_CHAR = math.log2(len(ICE_CHARS))
UFRAG_MIN_BITS = 60
"""SIG-8: the bot ufrag is every check's lookup key (SESS-3), so it must not be guessable."""
PWD_MIN_BITS = 128
"""SIG-8 and RFC 8445 §5.3."""
# The harness's own credentials: 96 bits of ufrag and 192 bits of password, above
# SIG-8's floor, and short enough that "BOTUFRAG:CLIENTUFRAG" stays far below
# USERNAME's 509-byte cap (RFC 8489 §14.3).
GENERATED_UFRAG_LENGTH = 16
GENERATED_PWD_LENGTH = 32
USERNAME_MAX_BYTES = 508

HOST_TYPE_PREFERENCE = 126
PEER_REFLEXIVE_TYPE_PREFERENCE = 110
DEFAULT_TP_MS = 50
TP_RANGE_MS = (20, 100)
DEFAULT_DEADLINE_S = 5.0

REASONS = {
    400: "Bad Request",
    401: "Unauthenticated",
    420: "Unknown Attribute",
    487: "Role Conflict",
}


def validate_ice_token(value: str, what: str, bounds: tuple[int, int]) -> str:
    low, high = bounds
    if not _ICE_CHAR_RUN.fullmatch(value):
        bad = next(ch for ch in value if ch not in ICE_CHARS)
        raise CredentialError(
            f"{what} {value!r} contains {bad!r}; ice-char is ALPHA / DIGIT / '+' / '/' "
            "(RFC 8839 §5.4)"
        )
    if not low <= len(value) <= high:
        raise CredentialError(
            f"{what} is {len(value)} characters; RFC 8839 §5.4 allows {low}..{high}"
        )
    return value


def entropy_bits(length: int) -> float:
    """Randomness of a generated ice-char string of ``length`` characters."""
    return length * BITS_PER_CHAR


@dataclass(frozen=True)
class IceCredentials:
    """One side's ICE username fragment and password; ``pwd`` stays out of ``repr`` and logs."""

    ufrag: str
    pwd: str = field(repr=False)

    def __post_init__(self) -> None:
        validate_ice_token(self.ufrag, "ice-ufrag", UFRAG_LENGTH)
        validate_ice_token(self.pwd, "ice-pwd", PWD_LENGTH)

    @functools.cached_property
    def key(self) -> bytes:
        # Computed once per credential set (the client asks for every check it builds
        # and every response it judges); the credentials never change.
        return short_term_key(self.pwd)

    @classmethod
    def generate(cls, rng: Random | None = None) -> IceCredentials:
        return generate_credentials(rng)


def generate_credentials(rng: Random | None = None) -> IceCredentials:
    """Fresh random credentials; pass a seeded ``rng`` only for reproducible tests."""

    def draw(n: int) -> str:
        if rng is None:
            # The base64 alphabet is exactly ICE_CHARS and each base64 character
            # carries 6 uniformly random bits: the same distribution as n calls of
            # secrets.choice(ICE_CHARS), from one call into the OS.
            return base64.b64encode(secrets.token_bytes(3 * -(-n // 4))).decode("ascii")[:n]
        return "".join(rng.choice(ICE_CHARS) for _ in range(n))

    return IceCredentials(draw(GENERATED_UFRAG_LENGTH), draw(GENERATED_PWD_LENGTH))


def check_username(bot: IceCredentials, client: IceCredentials) -> str:
    """USERNAME of a client check: the responder's ufrag first (RFC 8445 §7.2.2)."""
    username = f"{bot.ufrag}:{client.ufrag}"
    if len(username.encode()) > USERNAME_MAX_BYTES:
        raise CredentialError(
            f"USERNAME would be {len(username)} bytes; RFC 8489 §14.3 needs fewer than 509",
            hint="use ufrags of at most 32 characters (specs/sdp.md)",
        )
    return username


def candidate_priority(
    type_preference: int, local_preference: int = 65535, component: int = 1
) -> int:
    """Candidate priority formula of RFC 8445 §5.1.2.1."""
    return (type_preference << 24) + (local_preference << 8) + (256 - component)


CHECK_PRIORITY = candidate_priority(PEER_REFLEXIVE_TYPE_PREFERENCE)


def new_transaction_id() -> bytes:
    """96 cryptographically random bits (RFC 8489 §5)."""
    return secrets.token_bytes(12)


def new_tiebreaker() -> int:
    return secrets.randbits(64)


def build_ice_check(
    *,
    bot: IceCredentials,
    client: IceCredentials,
    transaction_id: bytes | None = None,
    priority: int = CHECK_PRIORITY,
    tiebreaker: int | None = None,
    use_candidate: bool = False,
) -> bytes:
    """A ULLC check: Binding request, USERNAME, PRIORITY, ICE-CONTROLLING, MI, FINGERPRINT.

    Keep the returned bytes: every retransmission of the transaction resends
    them unchanged (specs/stun.md, STUN-30).
    """
    attributes: dict[str, object] = {
        "USERNAME": check_username(bot, client),
        "PRIORITY": priority,
        "ICE-CONTROLLING": new_tiebreaker() if tiebreaker is None else tiebreaker,
    }
    if use_candidate:
        attributes["USE-CANDIDATE"] = None
    message = aioice_stun.Message(
        aioice_stun.Method.BINDING,
        aioice_stun.Class.REQUEST,
        transaction_id=transaction_id or new_transaction_id(),
        attributes=attributes,
    )
    message.add_message_integrity(bot.key)
    return bytes(message)


def _request(request: StunMessage | bytes) -> StunMessage:
    return request if isinstance(request, StunMessage) else parse_message(request)


def _signing_keys(req: StunMessage, key: bytes) -> tuple[bytes | None, bytes | None]:
    # A response carries the integrity attributes its request carried
    # (RFC 8489 §9.1.3); a request with neither gets classic MESSAGE-INTEGRITY.
    has_sha256 = req.has(AttributeType.MESSAGE_INTEGRITY_SHA256)
    has_sha1 = req.has(AttributeType.MESSAGE_INTEGRITY) or not has_sha256
    return (key if has_sha1 else None, key if has_sha256 else None)


def build_binding_success(
    request: StunMessage | bytes, *, password: str, mapped: tuple[str, int]
) -> bytes:
    """The bot's answer to an authentic check (specs/stun.md STUN-48).

    ``mapped`` is the client's transport address as the responder sees it. A
    check signed with MI-SHA256 is answered with MI-SHA256 (RFC 8489 §9.1.3).
    """
    req = _request(request)
    key = short_term_key(password)
    if req.has(AttributeType.MESSAGE_INTEGRITY_SHA256):
        xma = encode_address(*mapped, xor_with=req.transaction_id)
        mi_key, sha256_key = _signing_keys(req, key)
        return encode_message(
            Method.BINDING,
            MessageClass.SUCCESS,
            req.transaction_id,
            [(AttributeType.XOR_MAPPED_ADDRESS, xma)],
            integrity_key=mi_key,
            integrity_sha256_key=sha256_key,
        )
    message = aioice_stun.Message(
        aioice_stun.Method.BINDING,
        aioice_stun.Class.RESPONSE,
        transaction_id=req.transaction_id,
        attributes={"XOR-MAPPED-ADDRESS": mapped},
    )
    message.add_message_integrity(key)
    return bytes(message)


def build_binding_error(
    request: StunMessage | bytes,
    code: int,
    *,
    password: str | None = None,
    unknown_attributes: Sequence[int] = (),
) -> bytes:
    """An error response; signed when ``password`` is given (never for 400/401, STUN-50)."""
    req = _request(request)
    attributes = [(int(AttributeType.ERROR_CODE), encode_error_code(code, REASONS.get(code, "")))]
    if unknown_attributes:
        packed = b"".join(t.to_bytes(2, "big") for t in unknown_attributes)
        attributes.append((int(AttributeType.UNKNOWN_ATTRIBUTES), packed))
    mi_key, sha256_key = (None, None)
    if password is not None:
        mi_key, sha256_key = _signing_keys(req, short_term_key(password))
    return encode_message(
        Method.BINDING,
        MessageClass.ERROR,
        req.transaction_id,
        attributes,
        integrity_key=mi_key,
        integrity_sha256_key=sha256_key,
    )
