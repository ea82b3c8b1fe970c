"""HAProxy PROXY protocol version 2 for datagrams (the UDP hop's client-address header).

Hand-written because no well-kept Python library encodes PROXY v2 for UDP.
Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2.
The reference stack's edges import :func:`decode_v2` to recover the client's
address (for XOR-MAPPED-ADDRESS) from datagrams that came through a hop.

Every check crosses this module several times (hop, edge, ingress, bot), so the
common case (an IPv4 PROXY/DGRAM header) has a fast path in :func:`encode_v2` and
:func:`client_address_v2`: fixed bytes compared, ``struct`` and
``socket.inet_pton``/``inet_ntop`` instead of :mod:`ipaddress` objects. Anything
else takes the general road, which gives the same answers and the same errors.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Container
from dataclasses import dataclass
from enum import IntEnum

from harness.errors import ProtocolError

# 2.2: the 12-byte signature that cannot occur at the start of a v1 header or of STUN.
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_FIXED = struct.Struct("!12sBBH")  # signature, version|command, family|transport, length
_INET = struct.Struct("!4s4sHH")
_INET6 = struct.Struct("!16s16sHH")

Address = tuple[str, int]

# Bytes 0..15 of an IPv4 PROXY/DGRAM header: signature, version 2 | PROXY,
# INET | DGRAM, address length 12. The edges and the hop send only this.
_V4_DGRAM_PREFIX = SIGNATURE + bytes((0x21, 0x12)) + _INET.size.to_bytes(2, "big")
_V4_DGRAM_SIZE = len(_V4_DGRAM_PREFIX) + _INET.size
_V4_DGRAM_BODY = struct.Struct("!4s4sHH")


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
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)  # what str(IPv4Address) gives, faster
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)  # undo the lift in _v6_bytes: callers want the IPv4
    return str(address)


def _packed_v4(host: str) -> bytes | None:
    """The 4 bytes of a dotted-quad IPv4 address, None for anything else.

    inet_pton(AF_INET) accepts exactly the dotted quad (no shorthand like "127.1"),
    the same strings ipaddress.IPv4Address accepts, at a fraction of the cost.
    """
    try:
        return socket.inet_pton(socket.AF_INET, host)
    except (OSError, TypeError, ValueError):
        return None


def encode_v2(src: Address, dst: Address, *, transport: Transport = Transport.DGRAM) -> bytes:
    """Header for a PROXY command from ``src`` (the client) to ``dst`` (the address it reached)."""
    if transport is Transport.DGRAM:
        src_packed, dst_packed = _packed_v4(src[0]), _packed_v4(dst[0])
        if src_packed is not None and dst_packed is not None:
            return _V4_DGRAM_PREFIX + _V4_DGRAM_BODY.pack(src_packed, dst_packed, src[1], dst[1])
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


def client_address_v2(datagram: bytes) -> tuple[Address | None, bytes]:
    """``(header.src, payload)`` of :func:`decode_v2`, without building a :class:`ProxyHeader`.

    What a relay needs per datagram: the client's address (None without a v2
    header, or with a LOCAL/UNSPEC one) and the payload. Raises
    :class:`~harness.errors.ProtocolError` exactly when :func:`decode_v2` does.
    """
    if datagram[:16] == _V4_DGRAM_PREFIX and len(datagram) >= _V4_DGRAM_SIZE:
        src, _, sport, _ = _V4_DGRAM_BODY.unpack_from(datagram, 16)
        return (socket.inet_ntop(socket.AF_INET, src), sport), datagram[_V4_DGRAM_SIZE:]
    header, payload = decode_v2(datagram)
    return (header.src if header is not None else None), payload


class UntrustedProxyHeaderError(ProtocolError):
    """A PROXY v2 header from a sender that is not one of the receiver's relays.

    Anyone who can reach a port that honours the header can claim any client
    address with it, so a receiver names the relays it believes (by source IP).
    """


def original_sender(
    datagram: bytes, source: Address, trusted: Container[str] | None = None
) -> tuple[Address, bytes]:
    """Who really sent ``datagram`` and its payload: the v2 header's client address when a
    relay prepended one, else ``source``. Raises ProtocolError as :func:`decode_v2` does.

    With ``trusted`` (the relays' source IPs), a header naming a client from any other
    sender raises :class:`UntrustedProxyHeaderError`: the datagram must be dropped.
    """
    client, payload = client_address_v2(datagram)
    if client is None:
        return source, payload
    if trusted is not None and source[0] not in trusted:
        raise UntrustedProxyHeaderError(
            f"PROXY v2 header from {source[0]}, which is not a relay of this receiver",
            hint="only the stack's own hops and edges may name a client address",
        )
    return client, payload


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
