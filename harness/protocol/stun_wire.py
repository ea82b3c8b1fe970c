"""The STUN header and the attribute TLV walk (RFC 8489 sections 5 and 14).

aioice's parser does not check the magic cookie and drops unknown attributes,
so strict checking walks the raw TLVs here instead.

:func:`scan` never raises: it returns what it could read plus every framing
problem it met, so a checker can report them all. The strict parser in
:mod:`~harness.protocol.stun_message` turns the first problem into an error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

HEADER_LENGTH = 20
MAGIC_COOKIE = 0x2112A442
MAGIC_COOKIE_BYTES = MAGIC_COOKIE.to_bytes(4, "big")
ATTRIBUTE_HEADER_LENGTH = 4
MAX_ATTRIBUTE_LENGTH = 0xFFFF


class MessageClass(Enum):
    REQUEST = 0b00
    INDICATION = 0b01
    SUCCESS = 0b10
    ERROR = 0b11


class ProblemKind(Enum):
    TOO_SHORT = "too-short"
    TOP_BITS = "top-bits"
    BAD_COOKIE = "bad-cookie"
    LENGTH_MISMATCH = "length-mismatch"
    LENGTH_NOT_ALIGNED = "length-not-aligned"
    TRUNCATED_ATTRIBUTE_HEADER = "truncated-attribute-header"
    ATTRIBUTE_OVERRUN = "attribute-overrun"
    PADDING_OVERRUN = "padding-overrun"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    offset: int
    detail: str


@dataclass(frozen=True)
class RawAttribute:
    """One TLV as found on the wire; ``offset`` is where its 4-byte header starts."""

    type: int
    offset: int
    value: bytes
    padding: bytes

    @property
    def end(self) -> int:
        return self.offset + ATTRIBUTE_HEADER_LENGTH + len(self.value) + len(self.padding)


@dataclass(frozen=True)
class WireScan:
    """What :func:`scan` read from a datagram; header fields are None when absent."""

    data: bytes
    message_type: int | None
    length_field: int | None
    cookie: int | None
    transaction_id: bytes | None
    attributes: tuple[RawAttribute, ...]
    problems: tuple[Problem, ...]

    @property
    def method(self) -> int | None:
        return None if self.message_type is None else decode_type(self.message_type)[0]

    @property
    def message_class(self) -> MessageClass | None:
        return None if self.message_type is None else decode_type(self.message_type)[1]


def padding_length(length: int) -> int:
    return -length % 4


def encode_type(method: int, message_class: MessageClass) -> int:
    """Interleave the 12 method bits with the 2 class bits (RFC 8489 section 5)."""
    if not 0 <= method <= 0xFFF:
        raise ValueError(f"STUN method {method:#x} does not fit in 12 bits")
    c = message_class.value
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((c & 0b01) << 4)
        | ((c & 0b10) << 7)
    )


def decode_type(message_type: int) -> tuple[int, MessageClass]:
    method = (
        (message_type & 0x000F) | ((message_type >> 1) & 0x0070) | ((message_type >> 2) & 0x0F80)
    )
    c = ((message_type >> 4) & 0b01) | ((message_type >> 7) & 0b10)
    return method, MessageClass(c)


def looks_like_stun(data: bytes) -> bool:
    """Cheap demultiplexing test: top bits, cookie and a 4-aligned length (RFC 8489 §5)."""
    return (
        len(data) >= HEADER_LENGTH
        and data[0] & 0xC0 == 0
        and data[4:8] == MAGIC_COOKIE_BYTES
        and int.from_bytes(data[2:4], "big") == len(data) - HEADER_LENGTH
        and len(data) % 4 == 0
    )


def scan(data: bytes) -> WireScan:
    """Read the header and walk every attribute that fits in the datagram."""
    data = bytes(data)
    problems: list[Problem] = []
    if len(data) < HEADER_LENGTH:
        if data and data[0] & 0xC0:
            problems.append(Problem(ProblemKind.TOP_BITS, 0, f"first byte {data[0]:#04x}"))
        problems.append(
            Problem(
                ProblemKind.TOO_SHORT,
                0,
                f"datagram is {len(data)} bytes; a STUN header needs {HEADER_LENGTH}",
            )
        )
        return WireScan(data, None, None, None, None, (), tuple(problems))

    message_type, length_field, cookie = struct.unpack_from("!HHI", data)
    transaction_id = data[8:20]
    if message_type & 0xC000:
        problems.append(
            Problem(ProblemKind.TOP_BITS, 0, f"message type {message_type:#06x} has top bits set")
        )
    if cookie != MAGIC_COOKIE:
        problems.append(
            Problem(ProblemKind.BAD_COOKIE, 4, f"magic cookie {cookie:#010x}, expected 0x2112a442")
        )
    body_length = len(data) - HEADER_LENGTH
    if length_field != body_length:
        problems.append(
            Problem(
                ProblemKind.LENGTH_MISMATCH,
                2,
                f"Message Length field says {length_field} bytes, the datagram carries "
                f"{body_length} after the header",
            )
        )
    if length_field % 4 or body_length % 4:
        problems.append(
            Problem(
                ProblemKind.LENGTH_NOT_ALIGNED,
                2,
                f"length {length_field} (field) / {body_length} (datagram) is not a multiple of 4",
            )
        )

    attributes: list[RawAttribute] = []
    pos = HEADER_LENGTH
    end = len(data)
    while pos < end:
        if end - pos < ATTRIBUTE_HEADER_LENGTH:
            problems.append(
                Problem(
                    ProblemKind.TRUNCATED_ATTRIBUTE_HEADER,
                    pos,
                    f"{end - pos} bytes left, an attribute header needs 4",
                )
            )
            break
        attr_type, attr_length = struct.unpack_from("!HH", data, pos)
        value_end = pos + ATTRIBUTE_HEADER_LENGTH + attr_length
        if value_end > end:
            problems.append(
                Problem(
                    ProblemKind.ATTRIBUTE_OVERRUN,
                    pos,
                    f"attribute {attr_type:#06x} declares {attr_length} value bytes, "
                    f"only {end - pos - ATTRIBUTE_HEADER_LENGTH} remain",
                )
            )
            break
        padded_end = value_end + padding_length(attr_length)
        value = data[pos + ATTRIBUTE_HEADER_LENGTH : value_end]
        if padded_end > end:
            problems.append(
                Problem(
                    ProblemKind.PADDING_OVERRUN,
                    pos,
                    f"attribute {attr_type:#06x} of length {attr_length} needs "
                    f"{padding_length(attr_length)} padding bytes, {end - value_end} remain",
                )
            )
            attributes.append(RawAttribute(attr_type, pos, value, data[value_end:end]))
            break
        attributes.append(RawAttribute(attr_type, pos, value, data[value_end:padded_end]))
        pos = padded_end
    return WireScan(
        data, message_type, length_field, cookie, transaction_id, tuple(attributes), tuple(problems)
    )


def encode_attribute(attr_type: int, value: bytes, *, padding: bytes | None = None) -> bytes:
    """One TLV; ``padding`` defaults to the zero bytes RFC 8489 section 14 asks senders for."""
    if len(value) > MAX_ATTRIBUTE_LENGTH:
        raise ValueError(f"attribute value of {len(value)} bytes exceeds 65535")
    pad = bytes(padding_length(len(value))) if padding is None else padding
    return struct.pack("!HH", attr_type, len(value)) + value + pad


def encode_header(
    message_type: int, body_length: int, transaction_id: bytes, *, cookie: int = MAGIC_COOKIE
) -> bytes:
    if len(transaction_id) != 12:
        raise ValueError(f"transaction ID is {len(transaction_id)} bytes, expected 12")
    return struct.pack("!HHI", message_type, body_length, cookie) + transaction_id


def encode_raw(
    message_type: int, transaction_id: bytes, attributes: Iterable[tuple[int, bytes]]
) -> bytes:
    """Header plus TLVs with no integrity and no fingerprint."""
    body = b"".join(encode_attribute(t, v) for t, v in attributes)
    return encode_header(message_type, len(body), transaction_id) + body


def with_length(data: bytes, length: int) -> bytes:
    """``data`` with its Message Length field replaced (integrity and CRC inputs need this)."""
    return data[:2] + struct.pack("!H", length) + data[4:]
