"""Strict STUN/ICE checker: every violation of specs/stun.md in one datagram.

Unlike the parser, which stops at the first problem, the checker keeps going
as far as the bytes allow and reports each broken requirement with its ID and
RFC clause, so one look at a capture shows everything that is wrong with it.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from .errors import AttributeValueError
from .stun_attributes import (
    KNOWN_TYPES,
    AttributeType,
    AttributeValue,
    ErrorCode,
    TransportAddress,
    attribute_name,
    comprehension_required,
    decode_address,
    decode_value,
)
from .stun_integrity import (
    fingerprint,
    long_term_key,
    message_integrity_sha1,
    message_integrity_sha256,
    short_term_key,
)
from .stun_message import Method, StunMessage
from .stun_wire import MAGIC_COOKIE, MessageClass, ProblemKind, WireScan, decode_type, scan
from .violations import Violation


class Profile(Enum):
    """Which rule set applies.

    ``ULLC`` (the default) is specs/stun.md in full. ``RFC8489`` keeps only what
    RFC 8489 requires of any STUN agent, dropping the ULLC choices (controlling
    client only, short-term credentials only, FINGERPRINT and MESSAGE-INTEGRITY on
    every message); the RFC 5769 vectors need it, and it takes RFC 3489 peers as
    RFC 8489 §11 (RFC 5389 §12) does. ``ICE`` is an RFC 8445 agent answering checks:
    RFC 8489 plus required short-term credentials and FINGERPRINT. ``CLASSIC`` is an
    RFC 3489 server: no magic cookie, MAPPED-ADDRESS, the 3489 attribute set.
    ``rfc`` (the old name) still selects ``RFC8489``.
    """

    ULLC = "ullc"
    RFC8489 = "rfc8489"
    ICE = "ice"
    CLASSIC = "classic"
    RFC = "rfc8489"

    @classmethod
    def _missing_(cls, value: object) -> Profile | None:
        return cls.RFC8489 if value == "rfc" else None


CLASSIC_TYPES = frozenset(range(0x0001, 0x000C))
"""RFC 3489 §11.2: MAPPED-ADDRESS (0x0001) .. REFLECTED-FROM (0x000B)."""
LEGACY_TYPES = frozenset({0x0002, 0x0003, 0x0004, 0x0005, 0x0007, 0x000B})
"""RFC 3489 attributes RFC 8489 §18.3.1 retired (RESPONSE-ADDRESS, CHANGE-REQUEST,
SOURCE-ADDRESS, CHANGED-ADDRESS, PASSWORD, REFLECTED-FROM): legal from an RFC 3489
server, and a client ignores them (RFC 5389 §12.1), so no STUN-14 outside ULLC."""


@dataclass(frozen=True)
class DecodedAttribute:
    type: int
    name: str
    offset: int
    length: int
    value: AttributeValue
    error: str | None = None


@dataclass(frozen=True)
class CheckReport:
    """What the checker read and every violation it found."""

    data: bytes
    message_type: int | None
    method: int | None
    message_class: MessageClass | None
    transaction_id: bytes | None
    attributes: tuple[DecodedAttribute, ...]
    violations: tuple[Violation, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def conformant(self) -> bool:
        return not self.violations

    @property
    def requirement_ids(self) -> set[str]:
        return {v.requirement for v in self.violations}

    def describe(self) -> str:
        if self.method is None or self.message_class is None:
            return "not a STUN message (no header)"
        name = "Binding" if self.method == Method.BINDING else f"method {self.method:#05x}"
        return f"{name} {self.message_class.name.lower()}"


_FRAMING_IDS = {
    ProblemKind.TOO_SHORT: "STUN-3",
    ProblemKind.TOP_BITS: "STUN-1",
    ProblemKind.BAD_COOKIE: "STUN-2",
    ProblemKind.LENGTH_MISMATCH: "STUN-3",
    ProblemKind.LENGTH_NOT_ALIGNED: "STUN-3",
    ProblemKind.TRUNCATED_ATTRIBUTE_HEADER: "STUN-6",
    ProblemKind.ATTRIBUTE_OVERRUN: "STUN-6",
    ProblemKind.PADDING_OVERRUN: "STUN-6",
}
_ICE_ATTRIBUTES = frozenset(
    {
        AttributeType.PRIORITY,
        AttributeType.ICE_CONTROLLING,
        AttributeType.ICE_CONTROLLED,
        AttributeType.USE_CANDIDATE,
    }
)
MI = AttributeType.MESSAGE_INTEGRITY
MI256 = AttributeType.MESSAGE_INTEGRITY_SHA256
FP = AttributeType.FINGERPRINT


def _as_request(request: bytes | StunMessage | None) -> WireScan | None:
    if request is None:
        return None
    return scan(request.raw if isinstance(request, StunMessage) else bytes(request))


def _first(attrs: list[DecodedAttribute], attr_type: int) -> DecodedAttribute | None:
    return next((a for a in attrs if a.type == attr_type), None)


def _integrity_key(
    attrs: list[DecodedAttribute], password: str | None, key: bytes | None
) -> tuple[bytes | None, str | None]:
    """The HMAC key and how it was derived; long-term when REALM is present (RFC 8489 §9.2)."""
    if key is not None:
        return key, "given key"
    if password is None:
        return None, None
    realm, username = _first(attrs, AttributeType.REALM), _first(attrs, AttributeType.USERNAME)
    if realm is not None and isinstance(realm.value, str):
        if username is not None and isinstance(username.value, str):
            return long_term_key(username.value, realm.value, password), "long-term key"
        return None, "REALM without USERNAME: no long-term key can be formed"
    return short_term_key(password), "short-term key"


def check_stun(
    data: bytes,
    *,
    request: bytes | StunMessage | None = None,
    password: str | None = None,
    key: bytes | None = None,
    observed: tuple[str, int] | None = None,
    profile: Profile = Profile.ULLC,
) -> CheckReport:
    """List every violation in ``data``.

    ``request``: the request this datagram answers (transaction-ID echo).
    ``password``: the ICE password (short-term) or the long-term password when
    the message carries REALM; ``key`` overrides the derived HMAC key.
    ``observed``: the client's transport address as the responder saw it,
    which XOR-MAPPED-ADDRESS must carry.
    """
    data = bytes(data)
    wire = scan(data)
    out: list[Violation] = []
    notes: list[str] = []
    request_wire = _as_request(request)
    classic = _classic_exchange(wire, request_wire, profile)
    for problem in wire.problems:
        if classic and problem.kind is ProblemKind.BAD_COOKIE:
            # RFC 5389 §12.2 / RFC 8489 §11: the answer to an RFC 3489 request copies
            # its cookie field; _echo checks that it does.
            notes.append("RFC 3489 exchange: the cookie field is part of the transaction ID")
            continue
        out.append(Violation.of(_FRAMING_IDS[problem.kind], problem.detail, offset=problem.offset))
    if wire.message_type is None or wire.transaction_id is None:
        return CheckReport(data, None, None, None, None, (), tuple(out), tuple(notes))

    method, message_class = decode_type(wire.message_type)
    tx = wire.transaction_id
    attrs: list[DecodedAttribute] = []
    for raw in wire.attributes:
        name = attribute_name(raw.type)
        try:
            value = decode_value(raw.type, raw.value, tx)
        except AttributeValueError as error:
            out.append(
                Violation.of(error.requirement, error.message, offset=raw.offset, attribute=name)
            )
            attrs.append(
                DecodedAttribute(
                    raw.type, name, raw.offset, len(raw.value), raw.value, error.message
                )
            )
            continue
        attrs.append(DecodedAttribute(raw.type, name, raw.offset, len(raw.value), value))
        legacy = profile is not Profile.ULLC and raw.type in LEGACY_TYPES
        if comprehension_required(raw.type) and raw.type not in KNOWN_TYPES and not legacy:
            out.append(
                Violation.of(
                    "STUN-14",
                    f"unknown comprehension-required attribute {name}"
                    + ("; the bot answers 420" if message_class is MessageClass.REQUEST else ""),
                    offset=raw.offset,
                    attribute=name,
                )
            )

    out.extend(_placement(attrs))
    out.extend(_fingerprint(data, attrs))
    hmac_key, key_source = _integrity_key(attrs, password, key)
    out.extend(_integrity(data, attrs, hmac_key))
    if key_source is not None and hmac_key is None:
        notes.append(f"MESSAGE-INTEGRITY not verified: {key_source}")
    elif hmac_key is None and (_first(attrs, MI) or _first(attrs, MI256)):
        notes.append("MESSAGE-INTEGRITY not verified: pass the password to verify it")
    elif hmac_key is not None:
        notes.append(f"MESSAGE-INTEGRITY checked with the {key_source}")

    out.extend(_echo(method, message_class, wire, request_wire))
    out.extend(_mapped_address(attrs, wire, observed, request_wire, classic))
    out.extend(_profile_rules(method, message_class, attrs, request_wire, profile, classic))
    return CheckReport(
        data, wire.message_type, method, message_class, tx, tuple(attrs), tuple(out), tuple(notes)
    )


def _placement(attrs: list[DecodedAttribute]) -> Iterator[Violation]:
    # After MESSAGE-INTEGRITY only MI-SHA256 and FINGERPRINT; after MI-SHA256
    # only FINGERPRINT (RFC 8489 §14.5, §14.6). Anything else is unauthenticated.
    seen_mi = seen_mi256 = False
    for attr in attrs:
        if seen_mi256 and attr.type != FP:
            yield Violation.of(
                "STUN-7",
                f"{attr.name} follows MESSAGE-INTEGRITY-SHA256; only FINGERPRINT may",
                offset=attr.offset,
                attribute=attr.name,
            )
        elif seen_mi and attr.type not in (MI256, FP):
            yield Violation.of(
                "STUN-7",
                f"{attr.name} follows MESSAGE-INTEGRITY; only MESSAGE-INTEGRITY-SHA256 and "
                "FINGERPRINT may",
                offset=attr.offset,
                attribute=attr.name,
            )
        seen_mi = seen_mi or attr.type == MI
        seen_mi256 = seen_mi256 or attr.type == MI256


def _fingerprint(data: bytes, attrs: list[DecodedAttribute]) -> Iterator[Violation]:
    for index, attr in enumerate(attrs):
        if attr.type != FP:
            continue
        if index != len(attrs) - 1:
            yield Violation.of(
                "STUN-8",
                f"FINGERPRINT is attribute {index + 1} of {len(attrs)}; it must be the last",
                offset=attr.offset,
                attribute=attr.name,
            )
        if isinstance(attr.value, int) and attr.error is None:
            expected = fingerprint(data[: attr.offset])
            if attr.value != expected:
                yield Violation.of(
                    "STUN-9",
                    f"FINGERPRINT is {attr.value:#010x}, the message gives {expected:#010x}",
                    offset=attr.offset,
                    attribute=attr.name,
                )


def _integrity(
    data: bytes, attrs: list[DecodedAttribute], key: bytes | None
) -> Iterator[Violation]:
    if key is None:
        return
    for attr in attrs:
        if attr.error is not None or not isinstance(attr.value, bytes):
            continue
        if attr.type == MI:
            if not hmac.compare_digest(
                attr.value, message_integrity_sha1(data[: attr.offset], key)
            ):
                yield Violation.of(
                    "STUN-10",
                    "MESSAGE-INTEGRITY does not verify with the given credentials",
                    offset=attr.offset,
                    attribute=attr.name,
                )
        elif attr.type == MI256:
            expected = message_integrity_sha256(data[: attr.offset], key, len(attr.value))
            if not hmac.compare_digest(attr.value, expected):
                yield Violation.of(
                    "STUN-11",
                    "MESSAGE-INTEGRITY-SHA256 does not verify with the given credentials",
                    offset=attr.offset,
                    attribute=attr.name,
                )


def _classic_exchange(wire: WireScan, request: WireScan | None, profile: Profile) -> bool:
    """An RFC 3489 exchange: the request (or, without one, the message) has no magic
    cookie and the profile takes classic peers (all but ULLC, STUN-2)."""
    if profile is Profile.ULLC:
        return False
    if profile is Profile.CLASSIC:
        return True
    probe = request if request is not None else wire
    return probe.cookie is not None and probe.cookie != MAGIC_COOKIE


def _echo(
    method: int, message_class: MessageClass, wire: WireScan, request: WireScan | None
) -> Iterator[Violation]:
    if request is None:
        return
    if message_class not in (MessageClass.SUCCESS, MessageClass.ERROR):
        yield Violation.of(
            "STUN-5", f"a response was expected, this is a {message_class.name.lower()}", offset=0
        )
    # The whole 16 bytes after the length: the cookie (RFC 8489 §5; an RFC 3489
    # server echoes the field as part of its 128-bit ID, RFC 3489 §11.1) and all 12
    # transaction-ID bytes (RFC 8489 §6.3.1.1).
    if request.cookie is not None and wire.cookie is not None and request.cookie != wire.cookie:
        yield Violation(
            "STUN-5",
            "RFC 8489 §11 (RFC 5389 §12.2), RFC 3489 §11.1"
            if request.cookie != MAGIC_COOKIE
            else "RFC 8489 §5, §6.3.1.1",
            f"cookie field {wire.cookie:#010x} does not echo the request's {request.cookie:#010x}",
            offset=4,
        )
    tx = wire.transaction_id
    if request.transaction_id is not None and tx is not None and request.transaction_id != tx:
        differ = [i for i in range(12) if request.transaction_id[i] != tx[i]]
        yield Violation.of(
            "STUN-5",
            f"transaction ID {tx.hex()} does not echo the request's "
            f"{request.transaction_id.hex()} (bytes {', '.join(map(str, differ))} differ)",
            offset=8,
        )
    if request.method is not None and request.method != method:
        yield Violation.of(
            "STUN-5",
            f"method {method:#05x} does not echo the request's {request.method:#05x}",
            offset=0,
        )


def mapped_addresses(
    attrs: list[DecodedAttribute] | tuple[DecodedAttribute, ...],
    wire: WireScan,
    request: WireScan | None,
    classic: bool,
) -> list[tuple[DecodedAttribute, TransportAddress]]:
    """The addresses a response reports that its client reads.

    XOR-MAPPED-ADDRESS is decoded against the request's transaction ID (what the client
    XORs with, RFC 8489 §14.2), not the response's. An RFC 3489 answer carries
    MAPPED-ADDRESS (RFC 5389 §12.2); its XOR-MAPPED-ADDRESS counts only when the request
    had the magic cookie, i.e. came from an RFC 5389+ client that prefers it.
    """
    found: list[tuple[DecodedAttribute, TransportAddress]] = []
    modern_request = request is None or request.cookie == MAGIC_COOKIE
    wanted = []
    if classic:
        wanted.append(AttributeType.MAPPED_ADDRESS)
    if not classic or modern_request:
        wanted.append(AttributeType.XOR_MAPPED_ADDRESS)
    for attr_type in wanted:
        attr = _first(list(attrs), attr_type)
        if attr is None or attr.error is not None or not isinstance(attr.value, TransportAddress):
            continue
        if attr_type == AttributeType.MAPPED_ADDRESS or request is None:
            found.append((attr, attr.value))
            continue
        if request.transaction_id is None:
            continue
        raw = next(r.value for r in wire.attributes if r.offset == attr.offset)
        try:
            value = decode_address(raw, xor_with=request.transaction_id, name=attr.name)
        except AttributeValueError:
            continue
        found.append((attr, value))
    return found


def _mapped_address(
    attrs: list[DecodedAttribute],
    wire: WireScan,
    observed: tuple[str, int] | None,
    request: WireScan | None,
    classic: bool,
) -> Iterator[Violation]:
    if observed is None:
        return
    want = (ipaddress.ip_address(observed[0]), observed[1])
    for attr, value in mapped_addresses(attrs, wire, request, classic):
        got = (ipaddress.ip_address(value.host), value.port)
        if want != got:
            xor = attr.type == AttributeType.XOR_MAPPED_ADDRESS and request is not None
            against = " (XOR taken against the request's transaction ID)" if xor else ""
            yield Violation.of(
                "STUN-13",
                f"{attr.name} is {value}{against}, the client was seen at "
                f"{observed[0]}:{observed[1]}",
                offset=attr.offset,
                attribute=attr.name,
            )


def is_ice_check(method: int, message_class: MessageClass, attrs: list[DecodedAttribute]) -> bool:
    """A Binding request taking part in ICE (RFC 8445 §7.2).

    It carries ICE attributes or a "ufrag:ufrag" short-term USERNAME, as
    opposed to plain STUN or the long-term mechanism.
    """
    if method != Method.BINDING or message_class is not MessageClass.REQUEST:
        return False
    if any(a.type in _ICE_ATTRIBUTES for a in attrs):
        return True
    username = _first(attrs, AttributeType.USERNAME)
    realm = _first(attrs, AttributeType.REALM)
    return realm is None and username is not None and ":" in str(username.value)


def _profile_rules(
    method: int,
    message_class: MessageClass,
    attrs: list[DecodedAttribute],
    request: WireScan | None,
    profile: Profile,
    classic: bool = False,
) -> Iterator[Violation]:
    ullc = profile is Profile.ULLC
    types = [a.type for a in attrs]
    if classic:
        # RFC 3489 §11.2.1 / RFC 5389 §12.2: the classic answer carries MAPPED-ADDRESS;
        # none of RFC 8489's FINGERPRINT or ICE rules apply to a 3489 peer.
        if message_class is MessageClass.SUCCESS and AttributeType.MAPPED_ADDRESS not in types:
            yield Violation(
                "STUN-48",
                "RFC 3489 §11.2.1, RFC 5389 §12.2",
                "answer to an RFC 3489 Binding request without MAPPED-ADDRESS",
                attribute="MAPPED-ADDRESS",
            )
        return
    ice_answer = (
        profile is Profile.ICE
        and request is not None
        and message_class in (MessageClass.SUCCESS, MessageClass.ERROR)
    )
    if ice_answer and FP not in types:
        yield Violation(
            "STUN-8",
            "RFC 8445 §7.3",
            "an ICE agent's response to a check carries FINGERPRINT; this one does not",
            attribute="FINGERPRINT",
        )
    if ullc and method != Method.BINDING:
        yield Violation.of("STUN-20", f"method {method:#05x} is not Binding", offset=0)
    if ullc:
        for attr in attrs:
            if attr.type in (AttributeType.REALM, AttributeType.NONCE):
                yield Violation.of(
                    "STUN-16",
                    f"{attr.name} belongs to the long-term mechanism; ULLC uses short-term only",
                    offset=attr.offset,
                    attribute=attr.name,
                )
    check = (ullc and method == Method.BINDING and message_class is MessageClass.REQUEST) or (
        is_ice_check(method, message_class, attrs)
    )
    needs_fingerprint = check or (ullc and message_class is not MessageClass.INDICATION)
    if needs_fingerprint and FP not in types:
        yield Violation.of("STUN-8", "FINGERPRINT is missing", attribute="FINGERPRINT")
    if check:
        yield from _check_rules(attrs, ullc)
    if message_class is MessageClass.SUCCESS and method == Method.BINDING:
        if AttributeType.XOR_MAPPED_ADDRESS not in types:
            yield Violation.of(
                "STUN-48",
                "Binding success without XOR-MAPPED-ADDRESS",
                attribute="XOR-MAPPED-ADDRESS",
            )
        if ullc and MI not in types and MI256 not in types:
            yield Violation.of(
                "STUN-48",
                "Binding success without MESSAGE-INTEGRITY",
                attribute="MESSAGE-INTEGRITY",
            )
        if ullc and request is not None and MI256 in {a.type for a in request.attributes}:
            if MI256 not in types:
                yield Violation.of(
                    "STUN-48",
                    "the check carried MESSAGE-INTEGRITY-SHA256, the success response does not",
                    attribute="MESSAGE-INTEGRITY-SHA256",
                )
    if message_class is MessageClass.ERROR:
        yield from _error_rules(attrs, ullc)


def _check_rules(attrs: list[DecodedAttribute], ullc: bool) -> Iterator[Violation]:
    types = {a.type for a in attrs}
    username = _first(attrs, AttributeType.USERNAME)
    if username is None:
        yield Violation.of("STUN-21", "the check has no USERNAME", attribute="USERNAME")
    elif isinstance(username.value, str):
        parts = username.value.split(":")
        if len(parts) != 2 or not all(parts):
            yield Violation.of(
                "STUN-21",
                f"USERNAME {username.value!r} is not BOTUFRAG:CLIENTUFRAG",
                offset=username.offset,
                attribute=username.name,
            )
    if AttributeType.PRIORITY not in types:
        yield Violation.of("STUN-22", "the check has no PRIORITY", attribute="PRIORITY")
    controlling = AttributeType.ICE_CONTROLLING in types
    controlled = AttributeType.ICE_CONTROLLED in types
    if ullc:
        if not controlling:
            yield Violation.of(
                "STUN-23", "the check has no ICE-CONTROLLING", attribute="ICE-CONTROLLING"
            )
        if controlled:
            attr = _first(attrs, AttributeType.ICE_CONTROLLED)
            yield Violation.of(
                "STUN-23",
                "ICE-CONTROLLED in a check: the ULLC client is always controlling",
                offset=attr.offset if attr else None,
                attribute="ICE-CONTROLLED",
            )
    elif controlling == controlled:
        yield Violation.of(
            "STUN-23",
            "a check carries exactly one of ICE-CONTROLLING and ICE-CONTROLLED",
            attribute="ICE-CONTROLLING",
        )
    if MI not in types and MI256 not in types:
        yield Violation.of(
            "STUN-24", "the check has no MESSAGE-INTEGRITY", attribute="MESSAGE-INTEGRITY"
        )


def _error_rules(attrs: list[DecodedAttribute], ullc: bool) -> Iterator[Violation]:
    error = _first(attrs, AttributeType.ERROR_CODE)
    if error is None:
        yield Violation.of("STUN-50", "error response without ERROR-CODE", attribute="ERROR-CODE")
        return
    if not isinstance(error.value, ErrorCode):
        return
    signed = any(a.type in (MI, MI256) for a in attrs)
    code = error.value.code
    if code in (400, 401) and signed:
        yield Violation.of(
            "STUN-50",
            f"a {code} response must not carry MESSAGE-INTEGRITY (RFC 8489 §9.1.3)",
            attribute="MESSAGE-INTEGRITY",
        )
    if code == 420 and _first(attrs, AttributeType.UNKNOWN_ATTRIBUTES) is None:
        yield Violation.of(
            "STUN-46", "420 without UNKNOWN-ATTRIBUTES", attribute="UNKNOWN-ATTRIBUTES"
        )
    if ullc and code in (420, 487) and not signed:
        yield Violation.of(
            "STUN-50",
            f"a {code} answers an authenticated check and must carry MESSAGE-INTEGRITY",
            attribute="MESSAGE-INTEGRITY",
        )
