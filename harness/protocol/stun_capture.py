"""STUN datagrams from what a user hands the linter: hex text, a raw file or a pcap."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from harness.data import samples
from harness.errors import UsageError

from .stun_wire import HEADER_LENGTH, MAGIC_COOKIE_BYTES

_PCAP_MAGICS = (
    b"\xa1\xb2\xc3\xd4",
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x4d\x3c\xb2\xa1",
    b"\x0a\x0d\x0d\x0a",
)
_HEX_NOISE = re.compile(r"0x|[\s:,]")


@dataclass(frozen=True)
class Datagram:
    """One datagram and, from a capture, its UDP endpoints."""

    data: bytes
    origin: str
    source: tuple[str, int] | None = None
    destination: tuple[str, int] | None = None


def parse_hex(text: str, origin: str) -> bytes:
    """Hex digits with any spacing, ``0x`` prefixes, ':' separators and '#' comments."""
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    digits = _HEX_NOISE.sub("", body)
    bad = next((ch for ch in digits if ch not in string.hexdigits), None)
    if bad is not None or len(digits) % 2:
        problem = f"character {bad!r}" if bad is not None else "an odd number of hex digits"
        raise UsageError(
            f"{origin}: not hex ({problem})",
            hint="give the message as hex (spaces and newlines allowed), "
            "or the path of a raw, hex or pcap file",
        )
    if not digits:
        raise UsageError(f"{origin}: no bytes", hint="the hex text is empty")
    return bytes.fromhex(digits)


def _looks_like_text_hex(raw: bytes) -> bool:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return False
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return all(ch in string.hexdigits for ch in _HEX_NOISE.sub("", body))


def _from_pcap(path: Path) -> list[Datagram]:
    from scapy.error import Scapy_Exception
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import rdpcap

    try:
        packets = rdpcap(str(path))
    except (Scapy_Exception, OSError, EOFError, ValueError) as error:
        raise UsageError(f"{path}: unreadable capture ({error})") from error
    found = []
    for number, packet in enumerate(packets, start=1):
        if UDP not in packet:
            continue
        payload = bytes(packet[UDP].payload)
        # Keep anything with a STUN-shaped header so broken messages are linted too.
        if len(payload) < HEADER_LENGTH or payload[4:8] != MAGIC_COOKIE_BYTES:
            continue
        ip_layer = packet[IP] if IP in packet else packet[IPv6] if IPv6 in packet else None
        src = (str(ip_layer.src), int(packet[UDP].sport)) if ip_layer is not None else None
        dst = (str(ip_layer.dst), int(packet[UDP].dport)) if ip_layer is not None else None
        found.append(Datagram(payload, f"{path} packet {number}", src, dst))
    if not found:
        raise UsageError(
            f"{path}: no UDP payload with a STUN magic cookie in {len(packets)} packets",
            hint="capture the media port, e.g. `tcpdump -w out.pcap udp port 3478`",
        )
    return found


def load_datagrams(spec: str) -> list[Datagram]:
    """``spec`` is hex text or a path to a raw, hex-text or pcap/pcapng file."""
    path = Path(spec)
    try:
        is_file = path.is_file()
    except OSError:  # a long hex string is no valid file name
        is_file = False
    if not is_file and (sample := samples.find(spec)) is not None:
        path, is_file = sample, True
    looks_like_path = is_file or "/" in spec or "." in spec
    if is_file:
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise UsageError(f"{spec}: cannot read ({error.strerror})") from error
        if raw[:4] in _PCAP_MAGICS:
            return _from_pcap(path)
        if _looks_like_text_hex(raw):
            return [Datagram(parse_hex(raw.decode("ascii"), spec), spec)]
        return [Datagram(raw, spec)]
    if looks_like_path and not _looks_like_text_hex(spec.encode("utf-8", "replace")):
        raise UsageError(
            f"{spec}: no such file, and not hex either",
            hint="pass a path to a raw, hex or pcap file, or the message as hex",
        )
    return [Datagram(parse_hex(spec, "MESSAGE"), "MESSAGE")]


def parse_address(text: str) -> tuple[str, int]:
    """``IP:PORT`` or ``[IPv6]:PORT``."""
    import ipaddress

    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 <= number <= 65535:
        raise UsageError(f"--source {text!r} is not IP:PORT", hint="e.g. --source 192.0.2.1:32853")
    return host, number
