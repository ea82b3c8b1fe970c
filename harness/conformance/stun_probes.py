"""The requests the golden captures and the STUN-only rows send to a STUN responder.

Each :class:`Probe` builds one request, either plain (any STUN server) or a check
signed with the responder's short-term credentials (ICE agents). What the responder
must do with it is not stored here: :func:`harness.protocol.stun_outcome.expected_outcome`
reads it from the request, per profile, so probes and verdicts cannot drift apart.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from harness.protocol.ice import CHECK_PRIORITY, IceCredentials, new_tiebreaker
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_message import Method, encode_message
from harness.protocol.stun_wire import (
    MessageClass,
    encode_attribute,
    encode_header,
    encode_type,
)

UNKNOWN_REQUIRED_TYPE = 0x7F31
"""A comprehension-required attribute type no STUN or ICE RFC assigns (RFC 8489 §18.3)."""
UNKNOWN_OPTIONAL_TYPE = 0xC0DE
CHANGE_REQUEST = 0x0003
"""RFC 3489 §11.2.4 CHANGE-REQUEST, retired by RFC 5389 (RFC 8489 §18.3.1)."""
SOFTWARE = (AttributeType.SOFTWARE, b"ullc-harness probe")

Builder = Callable[[IceCredentials, IceCredentials], bytes]
"""(responder's credentials, client's credentials) -> request; plain probes ignore them."""


@dataclass(frozen=True)
class Probe:
    name: str
    what: str
    build: Builder
    needs_credentials: bool = False


def _tx() -> bytes:
    return os.urandom(12)


def _binding(attrs: list[tuple[int, bytes]], *, fingerprint: bool = False) -> bytes:
    return encode_message(
        int(Method.BINDING), MessageClass.REQUEST, _tx(), attrs, add_fingerprint=fingerprint
    )


def _classic(attrs: list[tuple[int, bytes]]) -> bytes:
    """An RFC 3489 Binding Request: a 128-bit transaction ID, no magic cookie."""
    body = b"".join(encode_attribute(t, v) for t, v in attrs)
    ident = os.urandom(16)
    if ident[:4] == bytes.fromhex("2112a442"):
        ident = b"\x00" + ident[1:]
    return struct.pack("!HH", 0x0001, len(body)) + ident + body


def _check(
    bot: IceCredentials,
    client: IceCredentials,
    *,
    extra: list[tuple[int, bytes]] | None = None,
    role: int = AttributeType.ICE_CONTROLLING,
    priority: bytes | None = None,
    username: str | bytes | None = None,
    sign_with: str | None = None,
    integrity: bool = True,
    fingerprint: bool = True,
) -> bytes:
    name = f"{bot.ufrag}:{client.ufrag}" if username is None else username
    attrs: list[tuple[int, bytes]] = []
    if name != b"":
        attrs.append((AttributeType.USERNAME, name if isinstance(name, bytes) else name.encode()))
    attrs.append(
        (
            AttributeType.PRIORITY,
            priority if priority is not None else struct.pack("!I", CHECK_PRIORITY),
        )
    )
    attrs.append((role, struct.pack("!Q", new_tiebreaker())))
    attrs += extra or []
    key = IceCredentials(bot.ufrag, sign_with).key if sign_with else bot.key
    return encode_message(
        int(Method.BINDING),
        MessageClass.REQUEST,
        _tx(),
        attrs,
        integrity_key=key if integrity else None,
        add_fingerprint=fingerprint,
    )


def _mutate(data: bytes, how: str) -> bytes:
    mutated = bytearray(data)
    if how == "cookie":
        mutated[4] ^= 0xFF
    elif how == "top-bits":
        mutated[0] |= 0xC0
    elif how == "truncate":
        del mutated[-4:]
    elif how == "fingerprint":
        mutated[-1] ^= 0x01
    return bytes(mutated)


def _truncated_attribute() -> bytes:
    """Message Length fits the datagram, but the last attribute claims more bytes."""
    tx = _tx()
    body = encode_attribute(AttributeType.SOFTWARE, b"ullc")
    body += struct.pack("!HH", AttributeType.SOFTWARE, 40) + b"abcd"
    return encode_header(encode_type(Method.BINDING, MessageClass.REQUEST), len(body), tx) + body


def _other_class(message_class: MessageClass, method: int = Method.BINDING) -> bytes:
    return encode_message(method, message_class, _tx(), [SOFTWARE], add_fingerprint=True)


def _short_controlling(bot: IceCredentials, client: IceCredentials) -> bytes:
    attrs: list[tuple[int, bytes]] = [
        (AttributeType.USERNAME, f"{bot.ufrag}:{client.ufrag}".encode()),
        (AttributeType.PRIORITY, struct.pack("!I", CHECK_PRIORITY)),
        (AttributeType.ICE_CONTROLLING, bytes(7)),
    ]
    return encode_message(
        int(Method.BINDING), MessageClass.REQUEST, _tx(), attrs, integrity_key=bot.key
    )


PLAIN_PROBES: tuple[Probe, ...] = (
    Probe("plain-binding", "Binding request, no attributes", lambda b, c: _binding([])),
    Probe(
        "plain-binding-fingerprint",
        "Binding request with SOFTWARE and FINGERPRINT",
        lambda b, c: _binding([SOFTWARE], fingerprint=True),
    ),
    Probe(
        "unknown-required",
        "unsigned Binding request with unknown comprehension-required 0x7F31",
        lambda b, c: _binding([(UNKNOWN_REQUIRED_TYPE, b"ullc")], fingerprint=True),
    ),
    Probe(
        "unknown-optional",
        "Binding request with unknown comprehension-optional 0xC0DE",
        lambda b, c: _binding([(UNKNOWN_OPTIONAL_TYPE, b"ullc")], fingerprint=True),
    ),
    Probe(
        "classic-binding", "RFC 3489 Binding request (no magic cookie)", lambda b, c: _classic([])
    ),
    Probe(
        "classic-change-request",
        "RFC 3489 Binding request with CHANGE-REQUEST (no change)",
        lambda b, c: _classic([(CHANGE_REQUEST, bytes(4))]),
    ),
    Probe(
        "bad-cookie",
        "RFC 8489 request (SOFTWARE, FINGERPRINT) with its cookie damaged",
        lambda b, c: _mutate(_binding([SOFTWARE], fingerprint=True), "cookie"),
    ),
    Probe(
        "top-bits",
        "Binding request with the top two bits set",
        lambda b, c: _mutate(_binding([SOFTWARE]), "top-bits"),
    ),
    Probe(
        "truncated",
        "Binding request whose last 4 bytes are cut (Message Length overstates)",
        lambda b, c: _mutate(_binding([SOFTWARE]), "truncate"),
    ),
    Probe(
        "truncated-attribute",
        "Binding request whose last attribute overruns the message",
        lambda b, c: _truncated_attribute(),
    ),
    Probe(
        "indication",
        "Binding indication",
        lambda b, c: _other_class(MessageClass.INDICATION),
    ),
    Probe(
        "stray-success",
        "a Binding success response to no request",
        lambda b, c: _other_class(MessageClass.SUCCESS),
    ),
    Probe(
        "username-not-utf8",
        "unsigned Binding request whose USERNAME is not UTF-8",
        lambda b, c: _binding([(AttributeType.USERNAME, b"\xff\xfe:abcd")], fingerprint=True),
    ),
    Probe(
        "username-too-long",
        "unsigned Binding request whose USERNAME is 512 bytes",
        lambda b, c: _binding([(AttributeType.USERNAME, b"u" * 512)], fingerprint=True),
    ),
)

ICE_PROBES: tuple[Probe, ...] = (
    Probe("valid-check", "connectivity check signed with the responder's password", _check, True),
    Probe(
        "check-no-integrity",
        "check without MESSAGE-INTEGRITY",
        lambda b, c: _check(b, c, integrity=False),
        True,
    ),
    Probe(
        "check-no-username",
        "signed check without USERNAME",
        lambda b, c: _check(b, c, username=b""),
        True,
    ),
    Probe(
        "check-bad-integrity",
        "check signed with another password",
        lambda b, c: _check(b, c, sign_with="wrongpasswordwrongpass0"),
        True,
    ),
    Probe(
        "check-unknown-ufrag",
        "check whose USERNAME names another ufrag",
        lambda b, c: _check(b, c, username=f"zzzz{b.ufrag}:{c.ufrag}"),
        True,
    ),
    Probe(
        "check-unknown-required",
        "signed check with unknown comprehension-required 0x7F31",
        lambda b, c: _check(b, c, extra=[(UNKNOWN_REQUIRED_TYPE, b"ullc")]),
        True,
    ),
    Probe(
        "check-priority-3-bytes",
        "signed check whose PRIORITY is 3 bytes",
        lambda b, c: _check(b, c, priority=b"\x6e\x00\xff"),
        True,
    ),
    Probe(
        "check-use-candidate-not-empty",
        "signed check whose USE-CANDIDATE carries 4 bytes",
        lambda b, c: _check(b, c, extra=[(AttributeType.USE_CANDIDATE, b"\x00\x00\x00\x01")]),
        True,
    ),
    Probe(
        "check-controlling-7-bytes",
        "signed check whose ICE-CONTROLLING is 7 bytes",
        _short_controlling,
        True,
    ),
    Probe(
        "check-bad-fingerprint",
        "signed check whose FINGERPRINT is wrong",
        lambda b, c: _mutate(_check(b, c), "fingerprint"),
        True,
    ),
    Probe(
        "check-bad-cookie",
        "signed check with its cookie damaged",
        lambda b, c: _mutate(_check(b, c), "cookie"),
        True,
    ),
    # Last: an agent may switch roles on it (RFC 8445 §7.3.1.1), changing later answers.
    Probe(
        "check-ice-controlled",
        "signed check with ICE-CONTROLLED (both sides controlled)",
        lambda b, c: _check(b, c, role=AttributeType.ICE_CONTROLLED),
        True,
    ),
)


ALL_PROBES = PLAIN_PROBES + ICE_PROBES

REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "plain-binding": ("STUN-48", "STUN-5", "STUN-13"),
    "plain-binding-fingerprint": ("STUN-48", "STUN-9"),
    "unknown-required": ("STUN-46", "STUN-14"),
    "unknown-optional": ("STUN-14", "STUN-48"),
    "classic-binding": ("STUN-2", "STUN-5"),
    "classic-change-request": ("STUN-2", "STUN-5"),
    "bad-cookie": ("STUN-40", "STUN-2"),
    "top-bits": ("STUN-40", "STUN-1"),
    "truncated": ("STUN-40", "STUN-3"),
    "truncated-attribute": ("STUN-40", "STUN-6"),
    "indication": ("STUN-42",),
    "stray-success": ("STUN-42",),
    "username-not-utf8": ("STUN-43", "STUN-15"),
    "username-too-long": ("STUN-43", "STUN-15"),
    "valid-check": ("STUN-48", "STUN-10", "STUN-13"),
    "check-no-integrity": ("STUN-43", "STUN-50"),
    "check-no-username": ("STUN-43", "STUN-50"),
    "check-bad-integrity": ("STUN-45", "STUN-50"),
    "check-unknown-ufrag": ("STUN-45", "STUN-44"),
    "check-unknown-required": ("STUN-46", "STUN-50"),
    "check-ice-controlled": ("STUN-47",),
    "check-priority-3-bytes": ("STUN-43", "STUN-15"),
    "check-use-candidate-not-empty": ("STUN-43", "STUN-15"),
    "check-controlling-7-bytes": ("STUN-43", "STUN-15"),
    "check-bad-fingerprint": ("STUN-41", "STUN-9"),
    "check-bad-cookie": ("STUN-40", "STUN-2"),
}
"""The spec IDs each probe exercises (the row's ``requirements`` mark)."""
PROBES = {probe.name: probe for probe in ALL_PROBES}
