"""A pcapng of one call's packets, rebuilt from the fault hops' capture records.

The hops record payloads and the logical ``src``/``dst`` of each datagram or
TCP segment, not the frames: the IP and UDP/TCP layers here are synthesised
from those addresses (scapy), stamped with the record's time. Each packet
carries a pcapng comment ``link=... stage=in|out direction=...``: a datagram
the hop received (``in``) without a matching ``out`` was dropped by a toxic,
and the gap between the two is the latency the hop added.

UDP hops prepend a PROXY v2 header towards the edge (see
:mod:`harness.faults.proxy_protocol`); it is stripped and described in the
comment so that Wireshark and ``ullc-harness lint-stun`` decode the STUN
message that follows.

Which packets belong to the call, when calls ran concurrently: STUN messages
whose transaction ID the call sent (exact, from its timeline); any other packet
whose payload (WebSocket frames unmasked) names one of the call's identifiers -
session id, request id, client or bot ufrag (signaling, the DC's HTTP request,
the KV store's commands); and DNS packets inside the call's DNS exchange
(DNS carries no identifier of the call, so a concurrent call's query at the same
instant can appear too).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.client.result import CallResult, EventKind
from harness.errors import ProtocolError
from harness.faults.proxy_protocol import decode_v2
from harness.reports.redact import Redactor, redact, unmask_websocket

STUN_COOKIE = b"\x21\x12\xa4\x42"
"""RFC 8489 §5: the magic cookie at bytes 4..8 of every STUN message."""

DNS_SLACK_S = 0.005
"""Margin around the call's DNS exchange: hop records are stamped in another process."""


@dataclass(frozen=True)
class HopRecord:
    """One capture record of one link, whatever form it arrived in."""

    link: str
    t: float
    """``time.monotonic()`` seconds when the hop saw it (same clock in every process)."""
    direction: str
    stage: str
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes


def _address(value: Any) -> tuple[str, int]:
    if isinstance(value, str):
        host, _, port = value.rpartition(":")
        return host.strip("[]"), int(port)
    return str(value[0]), int(value[1])


def normalise(link: str, record: Any) -> HopRecord:
    """A :class:`~harness.faults.engine.capture.CaptureRecord` or its JSON (the HTTP API)."""
    if isinstance(record, Mapping):
        raw = record["data"]
        data = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
        return HopRecord(
            link,
            float(record["t"]),
            str(record.get("direction", "")),
            str(record.get("stage", "")),
            _address(record["src"]),
            _address(record["dst"]),
            data,
        )
    return HopRecord(
        link,
        float(record.t),
        str(getattr(record.direction, "value", record.direction)),
        str(record.stage),
        _address(record.src),
        _address(record.dst),
        bytes(record.data),
    )


def hop_records(captures: Mapping[str, Sequence[Any]]) -> list[HopRecord]:
    """Every record of every link, in time order."""
    records = [normalise(link, item) for link, items in captures.items() for item in items]
    return sorted(records, key=lambda r: r.t)


def split_proxy_header(data: bytes) -> tuple[str | None, bytes]:
    """(description of a PROXY v2 header or None, the payload after it)."""
    try:
        header, payload = decode_v2(data)
    except ProtocolError:
        return None, data  # starts like a header but is not one: keep the bytes as seen
    if header is None:
        return None, data
    source = f"{header.src[0]}:{header.src[1]}" if header.src else "-"
    destination = f"{header.dst[0]}:{header.dst[1]}" if header.dst else "-"
    return f"proxy-v2 {header.command.name} {source} -> {destination}", payload


def stun_transaction(payload: bytes) -> str | None:
    """The transaction ID (hex) when ``payload`` is shaped like a STUN message."""
    if len(payload) >= 20 and payload[4:8] == STUN_COOKIE and payload[0] & 0xC0 == 0:
        return payload[8:20].hex()
    return None


def is_udp(record: HopRecord) -> bool:
    """UDP links are the DNS and edge ones (TOPO naming); otherwise sniff STUN/PROXY v2."""
    name = record.link.lower()
    if "dns" in name or "edge" in name:
        return True
    _, payload = split_proxy_header(record.data)
    return payload is not record.data or stun_transaction(payload) is not None


def call_transactions(result: CallResult) -> set[str]:
    """Transaction IDs (hex) of every check the call sent (its timeline names them)."""
    return {
        str(event.detail["transaction"])
        for event in result.timeline
        if event.kind is EventKind.CHECK_SENT and "transaction" in event.detail
    }


def call_identifiers(result: CallResult) -> set[bytes]:
    """Text that only this call's packets carry: session id, request id, ufrags."""
    found = {result.session_id, result.client_ufrag, result.bot_ufrag}
    found.update(
        str(event.detail.get("request_id"))
        for event in result.timeline
        if event.kind is EventKind.REQUEST_SENT and event.detail.get("request_id")
    )
    # Very short values would match by accident inside unrelated payloads.
    return {value.encode() for value in found if value and len(value) >= 4}


def dns_window(result: CallResult) -> tuple[float, float] | None:
    """Monotonic (start, end) of the call's DNS exchange, when it did one."""
    if result.started_at is None:
        return None
    times = [
        event.t_ms
        for event in result.timeline
        if event.kind in (EventKind.DNS_SENT, EventKind.DNS_ANSWERED)
    ]
    if not times:
        return None
    start = result.started_at + min(times) / 1000.0 - DNS_SLACK_S
    return start, result.started_at + max(times) / 1000.0 + DNS_SLACK_S


def call_records(records: Iterable[HopRecord], result: CallResult) -> list[HopRecord]:
    """The records that belong to ``result`` (see the module docstring)."""
    transactions = call_transactions(result)
    identifiers = call_identifiers(result)
    window = dns_window(result)
    chosen = []
    for record in records:
        _, payload = split_proxy_header(record.data)
        transaction = stun_transaction(payload)
        if transaction is not None:
            if transaction in transactions:
                chosen.append(record)
            continue
        if "dns" in record.link.lower():
            if window is not None and window[0] <= record.t <= window[1]:
                chosen.append(record)
            continue
        plain = unmask_websocket(payload)
        if any(identifier in plain for identifier in identifiers):
            chosen.append(record)
    return chosen


def write_pcap(
    records: Sequence[HopRecord],
    path: Path,
    *,
    redactor: Redactor | None = None,
    clock_offset: float | None = None,
) -> int:
    """Write ``records`` as pcapng to ``path``; returns the number of packets.

    ``clock_offset`` turns monotonic into epoch seconds (default: now's offset).
    Payloads pass through :func:`~harness.reports.redact.redact` first.
    """
    # scapy is heavy: imported when a pcap is really written, not with the plugin.
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.packet import Packet, Raw
    from scapy.utils import PcapNgWriter

    offset = time.time() - time.monotonic() if clock_offset is None else clock_offset
    sequence: dict[tuple[str, tuple[str, int], tuple[str, int], str], int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = PcapNgWriter(str(path))
    try:
        for record in records:
            note, payload = split_proxy_header(record.data)
            payload = redact(payload, redactor)
            (src_host, src_port), (dst_host, dst_port) = record.src, record.dst
            network: Packet = (
                IPv6(src=src_host, dst=dst_host)
                if ":" in src_host or ":" in dst_host
                else IP(src=src_host, dst=dst_host)
            )
            if is_udp(record):
                packet = network / UDP(sport=src_port, dport=dst_port) / Raw(payload)
            else:
                # One byte stream per direction and stage: sequence numbers count its bytes.
                key = (record.link, record.src, record.dst, record.stage)
                seq = sequence.get(key, 1)
                sequence[key] = seq + len(payload)
                segment = TCP(sport=src_port, dport=dst_port, flags="PA", seq=seq)
                packet = network / segment / Raw(payload)
            packet.time = record.t + offset
            comment = f"link={record.link} stage={record.stage} direction={record.direction}"
            if note:
                comment += f" {note}"
            packet.comment = comment.encode()
            writer.write(packet)
    finally:
        writer.close()
    return len(records)
