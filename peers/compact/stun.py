"""STUN wire format (RFC 8489 §5, §14) for the bot side: parse, verify, build.

Written for the ULLC profile (specs/stun.md): short-term credentials only,
FINGERPRINT always last.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
import zlib
from dataclasses import dataclass

MAGIC_COOKIE = 0x2112A442
FINGERPRINT_XOR = 0x5354554E

BINDING = 0x001
CLASS_REQUEST = 0
CLASS_INDICATION = 1
CLASS_SUCCESS = 2
CLASS_ERROR = 3

MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
REALM = 0x0014
NONCE = 0x0015
MESSAGE_INTEGRITY_SHA256 = 0x001C
PASSWORD_ALGORITHM = 0x001D
USERHASH = 0x001E
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
PASSWORD_ALGORITHMS = 0x8002
ALTERNATE_DOMAIN = 0x8003
SOFTWARE = 0x8022
ALTERNATE_SERVER = 0x8023
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A

# Comprehension-required attributes (type < 0x8000) this responder understands
# (RFC 8489 §18.3.1, RFC 8445 §16.1); any other one before the integrity
# attribute earns a 420 (STUN-46).
KNOWN_REQUIRED = frozenset(
    {
        MAPPED_ADDRESS,
        USERNAME,
        MESSAGE_INTEGRITY,
        ERROR_CODE,
        UNKNOWN_ATTRIBUTES,
        REALM,
        NONCE,
        MESSAGE_INTEGRITY_SHA256,
        PASSWORD_ALGORITHM,
        USERHASH,
        XOR_MAPPED_ADDRESS,
        PRIORITY,
        USE_CANDIDATE,
    }
)


@dataclass(frozen=True)
class Attribute:
    type: int
    value: bytes
    offset: int  # where the attribute's header starts in the message


@dataclass(frozen=True)
class Message:
    method: int
    cls: int
    transaction_id: bytes
    attributes: tuple[Attribute, ...]
    raw: bytes

    def first(self, attr_type: int) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.type == attr_type:
                return attribute
        return None


def message_type(method: int, cls: int) -> int:
    # RFC 8489 §5: the class bits C0/C1 sit at bits 4 and 8 among the method bits.
    return (
        (method & 0x000F)
        | ((method & 0x0070) << 1)
        | ((method & 0x0F80) << 2)
        | ((cls & 1) << 4)
        | ((cls & 2) << 7)
    )


def parse(data: bytes) -> Message | None:
    """The message, or None for anything that is not one well-framed STUN message (STUN-40)."""
    if len(data) < 20:
        return None
    msg_type, length, cookie = struct.unpack("!HHI", data[:8])
    if msg_type & 0xC000 or cookie != MAGIC_COOKIE:
        return None
    if length != len(data) - 20 or length % 4:
        return None
    attributes: list[Attribute] = []
    offset = 20
    while offset < len(data):
        if offset + 4 > len(data):
            return None
        attr_type, attr_len = struct.unpack("!HH", data[offset : offset + 4])
        end = offset + 4 + attr_len
        if end > len(data):
            return None
        attributes.append(Attribute(attr_type, data[offset + 4 : end], offset))
        offset = end + (-attr_len % 4)
    if offset != len(data):
        return None
    method = (msg_type & 0x000F) | ((msg_type >> 1) & 0x0070) | ((msg_type >> 2) & 0x0F80)
    cls = ((msg_type >> 4) & 1) | ((msg_type >> 7) & 2)
    return Message(method, cls, data[8:20], tuple(attributes), data)


def _with_length(raw: bytes, end: int, counted_end: int) -> bytes:
    """raw[:end] with the header's Length field set as if the message ended at counted_end."""
    return raw[:2] + struct.pack("!H", counted_end - 20) + raw[4:end]


def fingerprint_ok(message: Message) -> bool:
    """STUN-41: FINGERPRINT present, last, and equal to CRC-32 XOR 0x5354554E (STUN-9)."""
    if not message.attributes:
        return False
    last = message.attributes[-1]
    if last.type != FINGERPRINT or len(last.value) != 4:
        return False
    if any(a.type == FINGERPRINT for a in message.attributes[:-1]):
        return False
    expected = zlib.crc32(message.raw[: last.offset]) ^ FINGERPRINT_XOR
    return int.from_bytes(last.value, "big") == expected


def integrity_ok(message: Message, key: bytes) -> bool:
    """STUN-10/11: MI-SHA256 counts when present, else MESSAGE-INTEGRITY."""
    sha256 = message.first(MESSAGE_INTEGRITY_SHA256)
    if sha256 is not None:
        size = len(sha256.value)
        if size < 16 or size > 32 or size % 4:
            return False
        signed = _with_length(message.raw, sha256.offset, sha256.offset + 4 + size)
        digest = hmac.new(key, signed, hashlib.sha256).digest()[:size]
        return hmac.compare_digest(digest, sha256.value)
    sha1 = message.first(MESSAGE_INTEGRITY)
    if sha1 is None or len(sha1.value) != 20:
        return False
    signed = _with_length(message.raw, sha1.offset, sha1.offset + 24)
    return hmac.compare_digest(hmac.new(key, signed, hashlib.sha1).digest(), sha1.value)


class Builder:
    """Builds one message attribute by attribute; integrity and fingerprint go last."""

    def __init__(self, method: int, cls: int, transaction_id: bytes) -> None:
        self._type = message_type(method, cls)
        self._txid = transaction_id
        self._body = b""

    def _header(self, extra: int) -> bytes:
        return struct.pack("!HHI", self._type, len(self._body) + extra, MAGIC_COOKIE) + self._txid

    def add(self, attr_type: int, value: bytes) -> Builder:
        self._body += (
            struct.pack("!HH", attr_type, len(value)) + value + b"\x00" * (-len(value) % 4)
        )
        return self

    def add_xor_mapped_address(self, ip: str, port: int) -> Builder:
        address = ipaddress.ip_address(ip)
        xport = port ^ (MAGIC_COOKIE >> 16)
        if address.version == 4:
            xaddr = int(address) ^ MAGIC_COOKIE
            value = struct.pack("!BBHI", 0, 0x01, xport, xaddr)
        else:
            mask = int.from_bytes(struct.pack("!I", MAGIC_COOKIE) + self._txid, "big")
            value = struct.pack("!BBH", 0, 0x02, xport) + (int(address) ^ mask).to_bytes(16, "big")
        return self.add(XOR_MAPPED_ADDRESS, value)

    def add_error(self, code: int, reason: str) -> Builder:
        value = struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()
        return self.add(ERROR_CODE, value)

    def add_integrity(self, key: bytes) -> Builder:
        digest = hmac.new(key, self._header(24) + self._body, hashlib.sha1).digest()
        return self.add(MESSAGE_INTEGRITY, digest)

    def add_integrity_sha256(self, key: bytes) -> Builder:
        digest = hmac.new(key, self._header(36) + self._body, hashlib.sha256).digest()
        return self.add(MESSAGE_INTEGRITY_SHA256, digest)

    def finish(self) -> bytes:
        crc = zlib.crc32(self._header(8) + self._body) ^ FINGERPRINT_XOR
        self.add(FINGERPRINT, struct.pack("!I", crc))
        return self._header(0) + self._body
