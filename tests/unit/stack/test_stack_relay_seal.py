"""Sealed PROXY v2 headers: opened with the run's key only, never after any change."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ProtocolError
from harness.faults.proxy_protocol import decode_v2, encode_v2
from harness.stack.relay_seal import Unsealer, create_key, read_key, seal

CLIENT = ("127.77.10.10", 50000)
EDGE = ("127.77.20.1", 3478)


def test_a_sealed_header_opens_with_the_key_and_stays_a_valid_v2_header(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    assert read_key(tmp_path) == key
    sealed = seal(encode_v2(CLIENT, EDGE), key) + b"stun"
    assert Unsealer(key).open(sealed) == (CLIENT, b"stun")
    header, payload = decode_v2(sealed)  # any v2 reader still reads it (pcap, reports)
    assert header is not None
    assert header.src == CLIENT
    assert payload == b"stun"


def test_forged_tampered_or_foreign_headers_do_not_open(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    unsealer = Unsealer(key)
    sealed = seal(encode_v2(CLIENT, EDGE), key)
    other_client = bytearray(sealed)
    other_client[16:20] = bytes([127, 77, 10, 99])  # the address changed, the seal kept
    cases = {
        "unsealed": encode_v2(CLIENT, EDGE),
        "another key": seal(encode_v2(CLIENT, EDGE), b"k" * 32),
        "address changed": bytes(other_client),
        "seal cut short": sealed[:-4],
        "no header": b"\x00\x01\x00\x00stun",
        "empty": b"",
    }
    for name, datagram in cases.items():
        assert unsealer.open(datagram + b"stun") is None, name
    # A verified header is cached; a forgery never is.
    assert unsealer.open(sealed + b"a") == (CLIENT, b"a")
    assert unsealer.open(bytes(other_client) + b"a") is None


def test_no_key_is_an_error_saying_who_makes_it(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="supervisor"):
        read_key(tmp_path)
