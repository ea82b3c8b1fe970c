"""The sample call's pcapng: the call's packets only, read back with scapy, secrets gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_samples import (
    BOT,
    CLIENT,
    CLIENT_ADDR,
    EDGE_BIND,
    GATEWAY,
    PASSWORDS,
    SESSION_ID,
    evidence,
)
from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import rdpcap

from harness.evidence import Evidence
from harness.protocol.stun_capture import load_datagrams
from harness.reports.pcap import (
    STUN_COOKIE,
    HopRecord,
    call_records,
    hop_records,
    split_proxy_header,
    stun_transaction,
    write_pcap,
)
from harness.reports.redact import unmask_websocket


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Evidence, list[HopRecord], Path]:
    found = evidence(tmp_path / "logs")
    call = found.sample_call()
    assert call is not None
    records = call_records(hop_records(found.captures), call)
    path = tmp_path / "sample.pcapng"
    write_pcap(records, path, clock_offset=1_700_000_000.0)
    return found, records, path


def test_only_the_sample_calls_packets_are_kept(sample: tuple) -> None:
    found, records, _ = sample
    call = found.sample_call()
    everything = hop_records(found.captures)
    assert len(everything) == 13  # 7 edge (one another call's), 1 media, 3 gateway, 2 DNS
    links = [r.link for r in records]
    # 3 checks in+out at the edge, 1 at the media address, request in+out, response,
    # and the call's own DNS query (the other query is outside its DNS exchange).
    assert links.count("client-edge.edge-a") == 6
    assert links.count("client-edge.edge-a.pin.dc-b") == 1
    assert links.count("client-gateway") == 3
    assert links.count("client-dns") == 1
    sent = {str(e.detail["transaction"]) for e in call.timeline if "transaction" in e.detail}
    kept = {stun_transaction(split_proxy_header(r.data)[1]) for r in records} - {None}
    assert kept == sent


def test_pcap_reads_back_with_the_right_packets(sample: tuple) -> None:
    _, records, path = sample
    packets = rdpcap(str(path))
    assert len(packets) == len(records)
    for packet, record in zip(packets, records, strict=True):
        assert packet[IP].src == record.src[0]
        assert packet[IP].dst == record.dst[0]
        assert float(packet.time) == pytest.approx(record.t + 1_700_000_000.0, abs=1e-5)
        assert f"link={record.link}".encode() in packet.comment
    udp = [p for p in packets if UDP in p]
    tcp = [p for p in packets if TCP in p]
    assert len(tcp) == 3
    assert len(udp) == len(packets) - 3
    assert {(p[TCP].sport, p[TCP].dport) for p in tcp} == {
        (CLIENT_ADDR[1], GATEWAY[1]),
        (GATEWAY[1], CLIENT_ADDR[1]),
    }
    # The hop's PROXY v2 header is stripped (and described): STUN starts the payload.
    stun = [bytes(p[UDP].payload) for p in udp if p[UDP].dport in (EDGE_BIND[1],)]
    assert stun
    assert all(payload[4:8] == STUN_COOKIE for payload in stun)
    assert any(b"proxy-v2 PROXY" in p.comment for p in udp)
    # The repository's own STUN linter reads it as a capture.
    assert len(load_datagrams(str(path))) == 7


def test_no_password_in_the_pcap_even_inside_masked_websocket_frames(sample: tuple) -> None:
    _, _, path = sample
    raw = path.read_bytes()
    packets = rdpcap(str(path))
    clear = b"".join(unmask_websocket(bytes(p[TCP].payload)) for p in packets if TCP in p)
    for secret in PASSWORDS[:2]:
        assert secret.encode() not in raw
        assert secret.encode() not in clear
    # What is not secret stays readable: the request carried ufrags and the session id came back.
    assert CLIENT.ufrag.encode() in clear
    assert BOT.ufrag.encode() in clear
    assert SESSION_ID.encode() in clear
    assert b'"ice_pwd": "' + b"*" * len(CLIENT.pwd) + b'"' in clear
