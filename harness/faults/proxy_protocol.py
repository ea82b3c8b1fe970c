"""HAProxy PROXY protocol version 2 for datagrams (the UDP hop's client-address header).

Hand-written because no well-kept Python library encodes PROXY v2 for UDP.
Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2.
The reference stack's edges import :func:`decode_v2` to recover the client's
address (for XOR-MAPPED-ADDRESS) from datagrams that came through a hop.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum

from harness.errors import ProtocolError

# 2.2: the 12-byte signature that cannot occur at the start of a v1 header or of STUN.
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_FIXED = struct.Struct("!12sBBH")  # signature, version|command, family|transport, length
_INET = struct.Struct("!4s4sHH")
_INET6 = struct.Struct("!16s16sHH")

Address = tuple[str, int]


class Command(IntEnum):
    """2.2, 13th byte low nibble."""

    LOCAL = 0x0
    PROXY = 0x1


class Family(IntEnum):
    """2.2, 14th byte high nibble (UNIX is not used by the hop)."""

    UNSPEC = 0x0
    INET = 0x1
    INET6 = 0x2


class Transport(IntEnum):
    """2.2, 14th byte low nibble."""

    UNSPEC = 0x0
    STREAM = 0x1
    DGRAM = 0x2


@dataclass(frozen=True)
class ProxyHeader:
    """A decoded v2 header. ``src``/``dst`` are None for LOCAL or UNSPEC headers."""

    command: Command
    family: Family
    transport: Transport
    src: Address | None
    dst: Address | None
    tlvs: bytes = b""


def _is_v6(host: str) -> bool:
    return ipaddress.ip_address(host).version == 6


def _v6_bytes(host: str) -> bytes:
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv4Address):
        # Mixed families: 2.2 wants one family, so lift IPv4 into IPv4-mapped IPv6.
        address = ipaddress.IPv6Address(f"::ffff:{address}")
    return address.packed


def _text(raw: bytes) -> str:
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)  # undo the lift in _v6_bytes: callers want the IPv4
    return str(address)


def encode_v2(src: Address, dst: Address, *, transport: Transport = Transport.DGRAM) -> bytes:
    """Header for a PROXY command from ``src`` (the client) to ``dst`` (the address it reached)."""
    if _is_v6(src[0]) or _is_v6(dst[0]):
        family = Family.INET6
        body = _INET6.pack(_v6_bytes(src[0]), _v6_bytes(dst[0]), src[1], dst[1])
    else:
        family = Family.INET
        body = _INET.pack(
            ipaddress.IPv4Address(src[0]).packed,
            ipaddress.IPv4Address(dst[0]).packed,
            src[1],
            dst[1],
        )
    head = _FIXED.pack(SIGNATURE, 0x20 | Command.PROXY, (family << 4) | transport, len(body))
    return head + body


def encode_local_v2() -> bytes:
    """A LOCAL header (2.2: health checks; the receiver uses the real peer address)."""
    return _FIXED.pack(SIGNATURE, 0x20 | Command.LOCAL, 0, 0)


def decode_v2(datagram: bytes) -> tuple[ProxyHeader | None, bytes]:
    """Split a datagram into (header, payload); (None, datagram) when it has no v2 signature.

    Raises :class:`~harness.errors.ProtocolError` when the signature is present but the
    header is malformed, naming the field and the expected length.
    """
    if not datagram.startswith(SIGNATURE):
        return None, datagram
    if len(datagram) < _FIXED.size:
        raise ProtocolError(
            f"PROXY v2 header truncated: {len(datagram)} bytes, need {_FIXED.size} (2.2)"
        )
    _, version_command, family_transport, length = _FIXED.unpack_from(datagram)
    if version_command >> 4 != 0x2:
        raise ProtocolError(f"PROXY v2 version nibble is {version_command >> 4:#x}, need 0x2 (2.2)")
    end = _FIXED.size + length
    if len(datagram) < end:
        raise ProtocolError(
            f"PROXY v2 address block truncated: length field {length}, "
            f"{len(datagram) - _FIXED.size} bytes present (2.2)"
        )
    try:
        command = Command(version_command & 0x0F)
        family = Family(family_transport >> 4)
        transport = Transport(family_transport & 0x0F)
    except ValueError as error:
        raise ProtocolError(
            f"PROXY v2 command/family/transport not supported: {error} (2.2)"
        ) from None
    block = datagram[_FIXED.size : end]
    payload = datagram[end:]
    if command is Command.LOCAL or family is Family.UNSPEC:
        return ProxyHeader(command, family, transport, None, None, block), payload
    layout = _INET if family is Family.INET else _INET6
    if len(block) < layout.size:
        raise ProtocolError(
            f"PROXY v2 {family.name} addresses need {layout.size} bytes, length field is {length}"
        )
    src_raw, dst_raw, sport, dport = layout.unpack_from(block)
    src_ip, dst_ip = _text(src_raw), _text(dst_raw)
    header = ProxyHeader(
        command, family, transport, (src_ip, sport), (dst_ip, dport), block[layout.size :]
    )
    return header, payload
