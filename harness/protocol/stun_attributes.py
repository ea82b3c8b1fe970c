"""STUN attribute types the ULLC profile knows, and their value codecs (RFC 8489 §14)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum

from .errors import AttributeValueError
from .stun_wire import MAGIC_COOKIE_BYTES


class AttributeType(IntEnum):
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
    RESPONSE_ORIGIN = 0x802B
    OTHER_ADDRESS = 0x802C


KNOWN_TYPES = frozenset(int(t) for t in AttributeType)
# Rendered once: decode_value names every attribute it reads (for its error
# messages), and an enum lookup plus str.replace per attribute showed in profiles.
_NAMES = {int(t): t.name.replace("_", "-") for t in AttributeType}


def attribute_name(attr_type: int) -> str:
    name = _NAMES.get(attr_type)
    return name if name is not None else f"0x{attr_type:04X}"


def comprehension_required(attr_type: int) -> bool:
    """Types 0x0000-0x7FFF must be understood or the message fails (RFC 8489 §14)."""
    return attr_type < 0x8000


class Family(IntEnum):
    IPV4 = 0x01
    IPV6 = 0x02


@dataclass(frozen=True)
class TransportAddress:
    family: Family
    host: str
    port: int

    def __str__(self) -> str:
        return (
            f"[{self.host}]:{self.port}"
            if self.family is Family.IPV6
            else f"{self.host}:{self.port}"
        )

    def as_tuple(self) -> tuple[str, int]:
        return (self.host, self.port)


@dataclass(frozen=True)
class ErrorCode:
    code: int
    reason: str


# Decoded values are one of these; raw bytes for attributes without a codec.
AttributeValue = TransportAddress | ErrorCode | str | int | bytes | tuple[int, ...] | None


def _xor_pad(transaction_id: bytes) -> bytes:
    return MAGIC_COOKIE_BYTES + transaction_id


def decode_address(
    value: bytes, *, xor_with: bytes | None = None, name: str = "address"
) -> TransportAddress:
    """(XOR-)MAPPED-ADDRESS style value; ``xor_with`` is the transaction ID for XOR types."""
    ident = "STUN-12" if xor_with is not None else "STUN-15"
    if len(value) < 4:
        raise AttributeValueError(ident, f"{name} is {len(value)} bytes, at least 4 expected")
    if value[0] != 0:
        raise AttributeValueError(ident, f"{name} reserved byte is {value[0]:#04x}, expected 0")
    family_byte = value[1]
    expected = {Family.IPV4: 8, Family.IPV6: 20}
    try:
        family = Family(family_byte)
    except ValueError:
        raise AttributeValueError(
            ident, f"{name} family {family_byte:#04x} is neither 0x01 (IPv4) nor 0x02 (IPv6)"
        ) from None
    if len(value) != expected[family]:
        raise AttributeValueError(
            ident,
            f"{name} with family {family.name} is {len(value)} bytes, expected {expected[family]}",
        )
    body = value[2:]
    if xor_with is not None:
        pad = _xor_pad(xor_with)
        port = struct.unpack("!H", body[:2])[0] ^ 0x2112
        host_bytes = bytes(a ^ b for a, b in zip(body[2:], pad, strict=False))
    else:
        port = struct.unpack("!H", body[:2])[0]
        host_bytes = body[2:]
    host = str(ipaddress.ip_address(host_bytes))
    return TransportAddress(family, host, port)


def encode_address(host: str, port: int, *, xor_with: bytes | None = None) -> bytes:
    ip = ipaddress.ip_address(host)
    family = Family.IPV4 if ip.version == 4 else Family.IPV6
    host_bytes = ip.packed
    port_value = port
    if xor_with is not None:
        port_value ^= 0x2112
        host_bytes = bytes(a ^ b for a, b in zip(host_bytes, _xor_pad(xor_with), strict=False))
    return struct.pack("!BBH", 0, family, port_value) + host_bytes


def encode_error_code(code: int, reason: str) -> bytes:
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode("utf-8")


def _text(value: bytes, name: str, max_chars: int | None, max_bytes: int | None) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AttributeValueError("STUN-15", f"{name} is not UTF-8 ({error.reason})") from None
    if max_bytes is not None and len(value) >= max_bytes:
        raise AttributeValueError(
            "STUN-15", f"{name} is {len(value)} bytes, it must be fewer than {max_bytes}"
        )
    if max_chars is not None and len(text) >= max_chars:
        raise AttributeValueError(
            "STUN-15", f"{name} is {len(text)} characters, it must be fewer than {max_chars}"
        )
    return text


def _fixed(value: bytes, name: str, length: int, ident: str = "STUN-15") -> bytes:
    if len(value) != length:
        raise AttributeValueError(ident, f"{name} is {len(value)} bytes, expected {length}")
    return value


def decode_value(attr_type: int, value: bytes, transaction_id: bytes) -> AttributeValue:
    """Decode one attribute value; :class:`AttributeValueError` names the broken rule."""
    name = attribute_name(attr_type)
    match attr_type:
        case AttributeType.XOR_MAPPED_ADDRESS:
            return decode_address(value, xor_with=transaction_id, name=name)
        case (
            AttributeType.MAPPED_ADDRESS
            | AttributeType.ALTERNATE_SERVER
            | AttributeType.RESPONSE_ORIGIN
            | AttributeType.OTHER_ADDRESS
        ):
            return decode_address(value, name=name)
        case AttributeType.USERNAME:
            return _text(value, name, None, 509)
        case AttributeType.SOFTWARE | AttributeType.REALM | AttributeType.NONCE:
            return _text(value, name, 128, 764)
        case AttributeType.ALTERNATE_DOMAIN:
            return _text(value, name, None, 256)
        case AttributeType.PRIORITY:
            priority = int.from_bytes(_fixed(value, name, 4), "big")
            if priority == 0:
                raise AttributeValueError("STUN-22", "PRIORITY is 0; RFC 8445 §5.1.2.1 starts at 1")
            return priority
        case AttributeType.ICE_CONTROLLED | AttributeType.ICE_CONTROLLING:
            return int.from_bytes(_fixed(value, name, 8), "big")
        case AttributeType.USE_CANDIDATE:
            _fixed(value, name, 0)
            return None
        case AttributeType.FINGERPRINT:
            return int.from_bytes(_fixed(value, name, 4, "STUN-9"), "big")
        case AttributeType.MESSAGE_INTEGRITY:
            return _fixed(value, name, 20, "STUN-10")
        case AttributeType.MESSAGE_INTEGRITY_SHA256:
            if not 16 <= len(value) <= 32 or len(value) % 4:
                raise AttributeValueError(
                    "STUN-11", f"{name} is {len(value)} bytes, expected 16..32 in steps of 4"
                )
            return value
        case AttributeType.ERROR_CODE:
            if len(value) < 4:
                raise AttributeValueError(
                    "STUN-15", f"ERROR-CODE is {len(value)} bytes, at least 4"
                )
            reserved = int.from_bytes(value[:3], "big") >> 3
            error_class, number = value[2] & 0x07, value[3]
            if reserved or not 3 <= error_class <= 6 or number > 99:
                raise AttributeValueError(
                    "STUN-15",
                    f"ERROR-CODE class {error_class} number {number} (reserved {reserved}); "
                    "class must be 3..6 and number 0..99",
                )
            return ErrorCode(
                error_class * 100 + number, _text(value[4:], "reason phrase", 128, 764)
            )
        case AttributeType.UNKNOWN_ATTRIBUTES:
            if len(value) % 2:
                raise AttributeValueError(
                    "STUN-15", f"UNKNOWN-ATTRIBUTES is {len(value)} bytes, expected a multiple of 2"
                )
            return tuple(struct.unpack(f"!{len(value) // 2}H", value))
        case _:
            return value


def describe(attr_type: int, decoded: AttributeValue) -> str:
    """A one-line human rendering of a decoded value, for the lint output."""
    if isinstance(decoded, bytes):
        return decoded.hex()
    if isinstance(decoded, tuple):
        return ", ".join(attribute_name(t) for t in decoded)
    if isinstance(decoded, ErrorCode):
        return f"{decoded.code} {decoded.reason!r}"
    if decoded is None:
        return "(empty)"
    if attr_type == AttributeType.FINGERPRINT and isinstance(decoded, int):
        return f"{decoded:#010x}"
    if attr_type in (AttributeType.ICE_CONTROLLED, AttributeType.ICE_CONTROLLING):
        return f"tiebreaker {decoded:#018x}"
    if isinstance(decoded, str):
        return repr(decoded)
    return str(decoded)
