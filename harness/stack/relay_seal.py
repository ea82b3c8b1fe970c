"""Sealed PROXY v2 headers between the stack's own relays (edge -> ingress -> bot).

A source-address allow-list is not enough inside the stack: the edge-DC hop
relays whatever reaches its listen address, from its own (trusted) address, so
a datagram sent to the hop with a forged header arrived at the ingress looking
like an edge's. And on loopback any process can bind a relay's IP with another
port. So the edge and the ingress seal the headers they write: a custom TLV
(``PP2_TYPE_MIN_CUSTOM``, proxy-protocol.txt 2.2.7) carrying an HMAC of the
header's addresses under a key generated per run. The receiver believes a
header only when the seal verifies.

Cost: a relay seals once per flow (its header is encoded once), and a receiver
verifies each distinct header once, then finds it in a bounded cache: the
packet path pays a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from harness.errors import ProtocolError
from harness.faults.proxy_protocol import SIGNATURE, decode_v2

Address = tuple[str, int]

TLV_TYPE = 0xE0
MAC_BYTES = 16
_TLV_HEAD = bytes((TLV_TYPE, 0, MAC_BYTES))
_TLV_SIZE = len(_TLV_HEAD) + MAC_BYTES
_FIXED = 16  # signature, version/command, family/transport, length
KEY_FILE = "relay-key"
CACHE_LIMIT = 65_536


def key_path(run_dir: Path) -> Path:
    return run_dir / "secrets" / KEY_FILE


def create_key(run_dir: Path) -> bytes:
    """A new key for this run (0600), where :func:`read_key` finds it."""
    key = secrets.token_bytes(32)
    target = key_path(run_dir)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key


def read_key(run_dir: Path) -> bytes:
    try:
        return bytes.fromhex(key_path(run_dir).read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError) as error:
        raise ProtocolError(
            f"no relay key in {run_dir}: {error}",
            hint="components run under the supervisor, which creates it before any starts",
        ) from None


def _mac(key: bytes, command_family: bytes, addresses: bytes) -> bytes:
    return hmac.digest(key, command_family + addresses, hashlib.sha256)[:MAC_BYTES]


def seal(header: bytes, key: bytes) -> bytes:
    """``header`` (from :func:`~harness.faults.proxy_protocol.encode_v2`, no TLVs) with a seal."""
    length = int.from_bytes(header[14:_FIXED], "big") + _TLV_SIZE
    mac = _mac(key, header[12:14], header[_FIXED:])
    return header[:14] + length.to_bytes(2, "big") + header[_FIXED:] + _TLV_HEAD + mac


class Unsealer:
    """Opens sealed headers: ``(client, payload)``, or None for anything else."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._known: dict[bytes, Address] = {}

    def open(self, datagram: bytes) -> tuple[Address, bytes] | None:
        if len(datagram) < _FIXED or not datagram.startswith(SIGNATURE):
            return None
        end = _FIXED + int.from_bytes(datagram[14:_FIXED], "big")
        head = datagram[:end]
        client = self._known.get(head)
        if client is None:
            client = self._verify(head)
            if client is None:
                return None
            if len(self._known) >= CACHE_LIMIT:
                self._known.clear()
            self._known[head] = client
        return client, datagram[end:]

    def _verify(self, head: bytes) -> Address | None:
        if len(head) < _FIXED + _TLV_SIZE or head[-_TLV_SIZE:-MAC_BYTES] != _TLV_HEAD:
            return None
        expected = _mac(self.key, head[12:14], head[_FIXED:-_TLV_SIZE])
        if not hmac.compare_digest(expected, head[-MAC_BYTES:]):
            return None
        try:
            header, _ = decode_v2(head)
        except ProtocolError:
            return None
        return None if header is None else header.src
