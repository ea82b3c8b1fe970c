"""ICE checks broken in exactly one named way, and what the STUN rules say comes back.

Each :class:`Variant` is one row of the responder's rule table (specs/stun.md
STUN-40..STUN-48, in the order the bot applies them). :func:`craft` builds the
datagram for a session whose credentials the caller holds; the row's
:class:`Expectation` is the set of replies the specs allow and the IDs they rest on,
so a suite (or a script) only sends and compares.

Checks are built with aioice where it can express them (:func:`build_ice_check`) and
with :func:`encode_message` where the defect is something aioice refuses to produce.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum, StrEnum

from harness.protocol.ice import (
    CHECK_PRIORITY,
    IceCredentials,
    build_ice_check,
    check_username,
    generate_credentials,
    new_tiebreaker,
    new_transaction_id,
)
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_message import Method, encode_message
from harness.protocol.stun_outcome import Reply

__all__ = [
    "EXPECTATIONS",
    "NEEDS_SESSION",
    "UNKNOWN_REQUIRED_TYPE",
    "Crafted",
    "Expectation",
    "Reply",
    "Signing",
    "Variant",
    "corrupt_plain",
    "craft",
    "plain_binding",
]
from harness.protocol.stun_wire import MessageClass

UNKNOWN_REQUIRED_TYPE = 0x7F31
"""A comprehension-required attribute type no STUN or ICE RFC assigns (RFC 8489 §18.3 range)."""


class Signing(Enum):
    """How an answer must be signed (STUN-48, STUN-50)."""

    SIGNED = "signed with the bot's ice-pwd"
    UNSIGNED = "without MESSAGE-INTEGRITY"
    NOT_APPLICABLE = "no answer expected"


@dataclass(frozen=True)
class Expectation:
    """What a conformant target may answer, and why."""

    accepted: frozenset[Reply]
    signing: Signing
    requirements: tuple[str, ...]
    why: str


class Variant(StrEnum):
    """One way a check can be (in)valid; the value is the name tests show."""

    VALID = "valid check"
    BAD_INTEGRITY = "MESSAGE-INTEGRITY with a wrong password"
    NO_INTEGRITY = "no MESSAGE-INTEGRITY"
    NO_USERNAME = "no USERNAME"
    UNKNOWN_UFRAG = "bot ufrag of no session"
    UNKNOWN_REQUIRED_ATTRIBUTE = "unknown comprehension-required attribute"
    ICE_CONTROLLED = "ICE-CONTROLLED instead of ICE-CONTROLLING"
    BAD_COOKIE = "wrong magic cookie"
    TOP_BITS = "top two bits set"
    TRUNCATED = "truncated datagram"
    BAD_FINGERPRINT = "wrong FINGERPRINT"
    INDICATION = "Binding indication"
    PLAIN_BINDING = "plain Binding request (no attributes)"


def _silence(requirements: tuple[str, ...], why: str) -> Expectation:
    return Expectation(frozenset({Reply.SILENCE}), Signing.NOT_APPLICABLE, requirements, why)


EXPECTATIONS: dict[Variant, Expectation] = {
    Variant.VALID: Expectation(
        frozenset({Reply.SUCCESS}),
        Signing.SIGNED,
        ("STUN-48", "STUN-5", "STUN-8", "STUN-10", "STUN-12", "STUN-13"),
        "an authentic check of a live session is answered with a signed Binding success",
    ),
    Variant.BAD_INTEGRITY: Expectation(
        frozenset({Reply.E401}),
        Signing.UNSIGNED,
        ("STUN-45", "STUN-50", "SESS-5"),
        "MESSAGE-INTEGRITY that does not verify with the session's pwd gets 401 without MI",
    ),
    Variant.NO_INTEGRITY: Expectation(
        frozenset({Reply.E400}),
        Signing.UNSIGNED,
        ("STUN-43", "STUN-50"),
        "a Binding request without MESSAGE-INTEGRITY gets 400 without MI",
    ),
    # STUN-43 has the bot answer 400, but SESS-3 has the ingress discard a check
    # without a parseable USERNAME before any bot sees it: it cannot know which bot
    # would own it. Through the media path either is conformant; a success never is.
    Variant.NO_USERNAME: Expectation(
        frozenset({Reply.E400, Reply.SILENCE}),
        Signing.UNSIGNED,
        ("STUN-43", "SESS-3", "STUN-50"),
        "no USERNAME: 400 without MI from a bot (STUN-43), or the ingress discards it (SESS-3)",
    ),
    Variant.UNKNOWN_UFRAG: _silence(
        ("STUN-44", "SESS-4", "FB-3"),
        "no session holds the bot ufrag: no password to sign with, silently discarded",
    ),
    Variant.UNKNOWN_REQUIRED_ATTRIBUTE: Expectation(
        frozenset({Reply.E420}),
        Signing.SIGNED,
        ("STUN-46", "STUN-50", "STUN-14"),
        "an authentic check with an unknown comprehension-required attribute gets a signed 420 "
        "listing it in UNKNOWN-ATTRIBUTES",
    ),
    Variant.ICE_CONTROLLED: Expectation(
        frozenset({Reply.E487}),
        Signing.SIGNED,
        ("STUN-47", "STUN-50"),
        "the lite bot is never controlling: ICE-CONTROLLED gets a signed 487",
    ),
    Variant.BAD_COOKIE: _silence(("STUN-40", "STUN-2"), "not STUN (wrong magic cookie)"),
    Variant.TOP_BITS: _silence(("STUN-40", "STUN-1"), "not STUN (top bits set)"),
    Variant.TRUNCATED: _silence(("STUN-40", "STUN-3"), "not STUN (length does not match)"),
    Variant.BAD_FINGERPRINT: _silence(("STUN-41", "STUN-9"), "FINGERPRINT does not match"),
    Variant.INDICATION: _silence(("STUN-42", "STUN-20"), "indications are never answered"),
    Variant.PLAIN_BINDING: Expectation(
        frozenset({Reply.SUCCESS}),
        Signing.NOT_APPLICABLE,
        ("STUN-5", "STUN-12", "STUN-13"),
        "a plain STUN server answers a Binding request with XOR-MAPPED-ADDRESS (RFC 8489 §6.3.1)",
    ),
}

NEEDS_SESSION = frozenset(
    {
        Variant.VALID,
        Variant.BAD_INTEGRITY,
        Variant.NO_INTEGRITY,
        Variant.NO_USERNAME,
        Variant.UNKNOWN_REQUIRED_ATTRIBUTE,
        Variant.ICE_CONTROLLED,
    }
)
"""Variants whose expected answer depends on a live session (an ICE password)."""


@dataclass(frozen=True)
class Crafted:
    """A datagram to send, what it is, and what may come back."""

    variant: Variant
    data: bytes
    transaction_id: bytes
    expectation: Expectation
    unknown_types: tuple[int, ...] = ()
    """Attribute types a 420 must list (UNKNOWN_REQUIRED_ATTRIBUTE only)."""


def _check_attributes(
    bot: IceCredentials, client: IceCredentials, *, role: AttributeType, username: bool = True
) -> list[tuple[int, bytes]]:
    attributes: list[tuple[int, bytes]] = []
    if username:
        attributes.append((AttributeType.USERNAME, check_username(bot, client).encode()))
    attributes.append((AttributeType.PRIORITY, struct.pack("!I", CHECK_PRIORITY)))
    attributes.append((role, struct.pack("!Q", new_tiebreaker())))
    return attributes


def craft(
    variant: Variant,
    bot: IceCredentials,
    client: IceCredentials,
    *,
    transaction_id: bytes | None = None,
) -> Crafted:
    """The datagram of ``variant`` for the session with credentials ``bot``/``client``."""
    tx = transaction_id or new_transaction_id()
    expectation = EXPECTATIONS[variant]
    binding = int(Method.BINDING)
    request = MessageClass.REQUEST
    controlling = AttributeType.ICE_CONTROLLING
    unknown: tuple[int, ...] = ()
    if variant in (Variant.VALID, Variant.BAD_COOKIE, Variant.TOP_BITS, Variant.TRUNCATED,
                   Variant.BAD_FINGERPRINT):  # fmt: skip
        data = build_ice_check(bot=bot, client=client, transaction_id=tx)
        data = _corrupt(variant, data)
    elif variant is Variant.BAD_INTEGRITY:
        # Same ufrags, another password: the session's owner must reject it (SESS-5).
        wrong = generate_credentials()
        forged = IceCredentials(bot.ufrag, wrong.pwd)
        data = build_ice_check(bot=forged, client=client, transaction_id=tx)
    elif variant is Variant.NO_INTEGRITY:
        data = encode_message(
            binding, request, tx, _check_attributes(bot, client, role=controlling)
        )
    elif variant is Variant.NO_USERNAME:
        data = encode_message(
            binding,
            request,
            tx,
            _check_attributes(bot, client, role=controlling, username=False),
            integrity_key=bot.key,
        )
    elif variant is Variant.UNKNOWN_UFRAG:
        stranger = generate_credentials()
        data = build_ice_check(bot=stranger, client=client, transaction_id=tx)
    elif variant is Variant.UNKNOWN_REQUIRED_ATTRIBUTE:
        attributes = _check_attributes(bot, client, role=controlling)
        attributes.append((UNKNOWN_REQUIRED_TYPE, b"ullc"))
        data = encode_message(binding, request, tx, attributes, integrity_key=bot.key)
        unknown = (UNKNOWN_REQUIRED_TYPE,)
    elif variant is Variant.ICE_CONTROLLED:
        attributes = _check_attributes(bot, client, role=AttributeType.ICE_CONTROLLED)
        data = encode_message(binding, request, tx, attributes, integrity_key=bot.key)
    elif variant is Variant.INDICATION:
        attributes = _check_attributes(bot, client, role=controlling)
        data = encode_message(
            binding, MessageClass.INDICATION, tx, attributes, integrity_key=bot.key
        )
    else:
        data = encode_message(binding, request, tx, [], add_fingerprint=False)
    return Crafted(variant, data, tx, expectation, unknown)


def plain_binding(transaction_id: bytes | None = None) -> Crafted:
    """A Binding request without attributes: what any STUN server answers (TGT-5)."""
    tx = transaction_id or new_transaction_id()
    data = encode_message(int(Method.BINDING), MessageClass.REQUEST, tx, [], add_fingerprint=False)
    return Crafted(Variant.PLAIN_BINDING, data, tx, EXPECTATIONS[Variant.PLAIN_BINDING])


def corrupt_plain(variant: Variant, transaction_id: bytes | None = None) -> Crafted:
    """A plain Binding request broken like ``variant`` (a framing variant), for STUN servers
    that know no ICE session: the framing rules (STUN-40) hold for any STUN agent."""
    if variant not in (Variant.BAD_COOKIE, Variant.TOP_BITS, Variant.TRUNCATED):
        raise ValueError(f"{variant} is not a framing defect")
    base = plain_binding(transaction_id)
    # Give the truncation something to cut: one SOFTWARE attribute.
    data = encode_message(
        int(Method.BINDING),
        MessageClass.REQUEST,
        base.transaction_id,
        [(AttributeType.SOFTWARE, b"ullc-harness probe")],
        add_fingerprint=False,
    )
    return Crafted(variant, _corrupt(variant, data), base.transaction_id, EXPECTATIONS[variant])


def _corrupt(variant: Variant, data: bytes) -> bytes:
    mutated = bytearray(data)
    if variant is Variant.BAD_COOKIE:
        mutated[4] ^= 0xFF  # RFC 3489 messages have no cookie: not STUN for ULLC (STUN-2)
    elif variant is Variant.TOP_BITS:
        mutated[0] |= 0xC0
    elif variant is Variant.TRUNCATED:
        del mutated[-4:]  # the Message Length field now overstates the datagram (STUN-3)
    elif variant is Variant.BAD_FINGERPRINT:
        mutated[-1] ^= 0x01
    return bytes(mutated)
