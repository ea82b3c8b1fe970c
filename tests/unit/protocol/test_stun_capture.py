"""lint-stun reads pcap captures (scapy-built here) and pairs responses with their checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.utils import wrpcap
from stun_defects import BOT, CHECK, CLIENT_ADDR, SUCCESS, flip

from harness.cli import main
from harness.protocol.ice import build_binding_success

EDGE = ("203.0.113.5", 3478)


def _capture(path: Path, response: bytes) -> Path:
    packets = [
        IP(src=CLIENT_ADDR[0], dst=EDGE[0]) / UDP(sport=CLIENT_ADDR[1], dport=EDGE[1]) / CHECK,
        IP(src=EDGE[0], dst="198.51.100.99") / UDP(sport=53, dport=5353) / b"not stun at all",
        IP(src=EDGE[0], dst=CLIENT_ADDR[0]) / UDP(sport=EDGE[1], dport=CLIENT_ADDR[1]) / response,
    ]
    wrpcap(str(path), packets)
    return path


def test_clean_capture_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap = _capture(tmp_path / "call.pcap", SUCCESS)
    assert main(["lint-stun", str(pcap), "--password", BOT.pwd, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["class"] for m in result["messages"]] == ["request", "success"]
    assert result["messages"][0]["source"] == list(CLIENT_ADDR)


def test_capture_pairs_the_response_and_checks_the_mapped_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = build_binding_success(CHECK, password=BOT.pwd, mapped=EDGE)  # the edge, not the client
    pcap = _capture(tmp_path / "call.pcap", wrong)
    assert main(["lint-stun", str(pcap), "--password", BOT.pwd]) == 1
    assert "VIOLATION STUN-13" in capsys.readouterr().out


def test_capture_with_a_corrupt_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap = _capture(tmp_path / "call.pcap", flip(SUCCESS, 30))
    assert main(["lint-stun", str(pcap), "--password", BOT.pwd]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION STUN-9" in out


def test_capture_without_stun_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.pcap"
    wrpcap(str(path), [IP() / UDP() / b"hello"])
    assert main(["lint-stun", str(path)]) == 2
    assert "no UDP payload with a STUN magic cookie" in capsys.readouterr().err


def test_raw_binary_file_is_read_as_one_datagram(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "check.bin"
    path.write_bytes(CHECK)
    assert main(["lint-stun", str(path), "--password", BOT.pwd]) == 0
    assert "Binding request" in capsys.readouterr().out
