"""A decoded STUN message, the strict parser and the signing encoder.

:func:`parse_message` accepts exactly the datagrams RFC 8489 sections 5 and 14
allow and raises only :class:`~harness.protocol.errors.StunParseError`.
Integrity and fingerprint are verified separately (:func:`verify_integrity`,
:func:`verify_fingerprint`) because they need a key or are optional;
:func:`harness.protocol.stun_checker.check_stun` does everything at once.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from .errors import AttributeValueError, StunParseError
from .stun_attributes import (
    AttributeType,
    AttributeValue,
    TransportAddress,
    attribute_name,
    decode_value,
)
from .stun_integrity import (
    fingerprint,
    message_integrity_sha1,
    message_integrity_sha256,
)
from .stun_wire import (
    HEADER_LENGTH,
    MessageClass,
    ProblemKind,
    WireScan,
    decode_type,
    encode_attribute,
    encode_header,
    encode_type,
    scan,
)


class Method(IntEnum):
    BINDING = 0x001


_PROBLEM_FIELDS = {
    ProblemKind.TOO_SHORT: "header",
    ProblemKind.TOP_BITS: "message type",
    ProblemKind.BAD_COOKIE: "magic cookie",
    ProblemKind.LENGTH_MISMATCH: "Message Length",
    ProblemKind.LENGTH_NOT_ALIGNED: "Message Length",
    ProblemKind.TRUNCATED_ATTRIBUTE_HEADER: "attribute header",
    ProblemKind.ATTRIBUTE_OVERRUN: "attribute value",
    ProblemKind.PADDING_OVERRUN: "attribute padding",
}


@dataclass(frozen=True)
class StunAttribute:
    type: int
    value: bytes
    decoded: AttributeValue
    offset: int

    @property
    def name(self) -> str:
        return attribute_name(self.type)


@dataclass(frozen=True)
class StunMessage:
    method: int
    message_class: MessageClass
    transaction_id: bytes
    attributes: tuple[StunAttribute, ...]
    raw: bytes

    def get(self, attr_type: int) -> StunAttribute | None:
        """The first attribute of that type (RFC 8489 §14: later duplicates are ignored)."""
        return next((a for a in self.attributes if a.type == attr_type), None)

    def has(self, attr_type: int) -> bool:
        return self.get(attr_type) is not None

    @property
    def username(self) -> str | None:
        attr = self.get(AttributeType.USERNAME)
        return attr.decoded if attr is not None and isinstance(attr.decoded, str) else None

    @property
    def xor_mapped_address(self) -> TransportAddress | None:
        attr = self.get(AttributeType.XOR_MAPPED_ADDRESS)
        if attr is not None and isinstance(attr.decoded, TransportAddress):
            return attr.decoded
        return None

    @property
    def is_binding_request(self) -> bool:
        return self.method == Method.BINDING and self.message_class is MessageClass.REQUEST

    def describe(self) -> str:
        try:
            method = Method(self.method).name.title()
        except ValueError:
            method = f"method {self.method:#05x}"
        return f"{method} {self.message_class.name.lower()}"


def parse_message(data: bytes) -> StunMessage:
    """Parse one datagram strictly; raise :class:`StunParseError` naming field and offset."""
    try:
        wire = scan(bytes(data))
    except TypeError as error:
        raise StunParseError(f"expected bytes, got {type(data).__name__}") from error
    if wire.problems:
        problem = wire.problems[0]
        raise StunParseError(
            f"{_PROBLEM_FIELDS[problem.kind]} at offset {problem.offset}: {problem.detail}",
            offset=problem.offset,
            hint="run `ullc-harness lint-stun <hex>` to list every problem of this datagram",
        )
    assert wire.message_type is not None
    assert wire.transaction_id is not None
    method, message_class = decode_type(wire.message_type)
    return StunMessage(
        method, message_class, wire.transaction_id, decode_attributes(wire), wire.data
    )


def decode_attributes(wire: WireScan) -> tuple[StunAttribute, ...]:
    """The values of a scan without framing problems; raises AttributeValueError naming
    the attribute and its offset."""
    assert wire.transaction_id is not None
    attributes = []
    for raw in wire.attributes:
        try:
            decoded = decode_value(raw.type, raw.value, wire.transaction_id)
        except AttributeValueError as error:
            raise AttributeValueError(
                error.requirement,
                f"{attribute_name(raw.type)} at offset {raw.offset}: {error.message}",
                offset=raw.offset,
            ) from None
        attributes.append(StunAttribute(raw.type, raw.value, decoded, raw.offset))
    return tuple(attributes)


def verify_fingerprint(message: StunMessage) -> bool | None:
    """True/False for a present FINGERPRINT, None when absent."""
    attr = message.get(AttributeType.FINGERPRINT)
    if attr is None or not isinstance(attr.decoded, int):
        return None
    return attr.decoded == fingerprint(message.raw[: attr.offset])


def verify_integrity(message: StunMessage, key: bytes) -> bool | None:
    """Verify MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY (RFC 8489 §9.1.3).

    None when the message carries neither.
    """
    sha256 = message.get(AttributeType.MESSAGE_INTEGRITY_SHA256)
    if sha256 is not None:
        expected = message_integrity_sha256(message.raw[: sha256.offset], key, len(sha256.value))
        return hmac.compare_digest(expected, sha256.value)
    sha1 = message.get(AttributeType.MESSAGE_INTEGRITY)
    if sha1 is not None:
        expected = message_integrity_sha1(message.raw[: sha1.offset], key)
        return hmac.compare_digest(expected, sha1.value)
    return None


def encode_message(
    method: int,
    message_class: MessageClass,
    transaction_id: bytes,
    attributes: Sequence[tuple[int, bytes]] = (),
    *,
    integrity_key: bytes | None = None,
    integrity_sha256_key: bytes | None = None,
    sha256_length: int = 32,
    add_fingerprint: bool = True,
) -> bytes:
    """Encode and sign: attributes, then MESSAGE-INTEGRITY, MI-SHA256, FINGERPRINT.

    For what aioice cannot express (MI-SHA256, UNKNOWN-ATTRIBUTES, any type);
    ordinary checks and responses are built by :mod:`harness.protocol.ice` with aioice.
    """
    data = encode_header(encode_type(method, message_class), 0, transaction_id)
    data += b"".join(encode_attribute(t, v) for t, v in attributes)

    def append(attr_type: int, value: bytes) -> bytes:
        body = data + encode_attribute(attr_type, value)
        return body[:2] + struct.pack("!H", len(body) - HEADER_LENGTH) + body[4:]

    if integrity_key is not None:
        data = append(AttributeType.MESSAGE_INTEGRITY, message_integrity_sha1(data, integrity_key))
    if integrity_sha256_key is not None:
        mac = message_integrity_sha256(data, integrity_sha256_key, sha256_length)
        data = append(AttributeType.MESSAGE_INTEGRITY_SHA256, mac)
    if add_fingerprint:
        data = append(AttributeType.FINGERPRINT, fingerprint(data).to_bytes(4, "big"))
    return data[:2] + struct.pack("!H", len(data) - HEADER_LENGTH) + data[4:]
