"""What the bot (ICE-lite, always controlled) does with one datagram (specs/stun.md §5).

A pure function so that the reference stack, the conformance suite and the
fuzzers share one reading of the rules; it keeps no state, which is why a
retransmitted check gets an equivalent answer for free (STUN-49).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .errors import StunParseError
from .ice import build_binding_error, build_binding_success
from .stun_attributes import KNOWN_TYPES, AttributeType, comprehension_required
from .stun_integrity import fingerprint, short_term_key
from .stun_message import Method, StunMessage, parse_message, verify_integrity
from .stun_wire import MessageClass, scan

PasswordLookup = Callable[[str], str | None]
"""Bot ufrag -> bot ice-pwd, or None when no session holds that ufrag."""


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


def _authenticated_part(message: StunMessage) -> list[int]:
    # Attributes after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5), so they
    # can neither trigger a 420 nor a role conflict.
    types = []
    for attr in message.attributes:
        if attr.type in (AttributeType.MESSAGE_INTEGRITY, AttributeType.MESSAGE_INTEGRITY_SHA256):
            break
        types.append(attr.type)
    return types


def decide(datagram: bytes, source: tuple[str, int], lookup: PasswordLookup) -> Decision:
    """Apply the responder rules STUN-40..STUN-48 in their order.

    ``source`` is the client's transport address as the responder sees it
    (the reference edges preserve it through their relays).
    """
    wire = scan(datagram)
    if wire.problems:
        return _discard("STUN-40", f"not STUN: {wire.problems[0].detail}")
    fingerprints = [a for a in wire.attributes if a.type == AttributeType.FINGERPRINT]
    last = wire.attributes[-1] if wire.attributes else None
    if not fingerprints or last is None or last.type != AttributeType.FINGERPRINT:
        return _discard("STUN-41", "FINGERPRINT missing or not last")
    if len(last.value) != 4 or int.from_bytes(last.value, "big") != fingerprint(
        wire.data[: last.offset]
    ):
        return _discard("STUN-41", "FINGERPRINT does not match")
    if wire.method != Method.BINDING or wire.message_class is not MessageClass.REQUEST:
        return _discard("STUN-42", "only Binding requests are answered")

    try:
        request = parse_message(wire.data)
    except StunParseError as error:
        return Decision(
            Outcome.RESPOND,
            "STUN-43",
            f"unreadable request: {error.message}",
            build_binding_error(_minimal(wire.data), 400),
            400,
        )
    has_integrity = request.has(AttributeType.MESSAGE_INTEGRITY) or request.has(
        AttributeType.MESSAGE_INTEGRITY_SHA256
    )
    username = request.username
    if username is None or not has_integrity:
        return Decision(
            Outcome.RESPOND,
            "STUN-43",
            "USERNAME or MESSAGE-INTEGRITY missing",
            build_binding_error(request, 400),
            400,
        )
    password = lookup(username.split(":", 1)[0])
    if password is None:
        return _discard("STUN-44", f"no session for ufrag {username.split(':', 1)[0]!r}")
    if not verify_integrity(request, short_term_key(password)):
        return Decision(
            Outcome.RESPOND,
            "STUN-45",
            "MESSAGE-INTEGRITY does not verify",
            build_binding_error(request, 401),
            401,
        )
    covered = _authenticated_part(request)
    unknown = [t for t in covered if comprehension_required(t) and t not in KNOWN_TYPES]
    if unknown:
        return Decision(
            Outcome.RESPOND,
            "STUN-46",
            "unknown comprehension-required attributes",
            build_binding_error(request, 420, password=password, unknown_attributes=unknown),
            420,
        )
    if AttributeType.ICE_CONTROLLED in covered:
        return Decision(
            Outcome.RESPOND,
            "STUN-47",
            "ICE-CONTROLLED: the bot is ICE-lite and never controlling",
            build_binding_error(request, 487, password=password),
            487,
        )
    return Decision(
        Outcome.RESPOND,
        "STUN-48",
        "authentic check",
        build_binding_success(request, password=password, mapped=source),
    )


def _minimal(data: bytes) -> StunMessage:
    # A 400 needs only the transaction ID of a request whose attributes do not decode.
    return StunMessage(Method.BINDING, MessageClass.REQUEST, data[8:20], (), data)
