"""Credentials never reach a report: one :func:`redact` applied at every write.

What counts as a secret (the harness knows no other credentials):

- ICE passwords wherever they are written down: ``ice_pwd``/``bot_pwd`` JSON
  members, ``a=ice-pwd:`` SDP lines (also inside JSON-escaped SDP), Python
  reprs such as ``pwd='...'``, ``--password X`` on a command line;
- MESSAGE-INTEGRITY keys (``integrity_key=...``, ``hmac_key: ...``): the
  short-term key *is* the password (RFC 8489 §9.2.2), so it is the same secret;
- passwords in URLs (``scheme://user:PASSWORD@host``), ``Authorization``
  values, members named ``*secret*``/``*token*``/``*password*``;
- every literal value a :class:`Redactor` was told about (what a target file
  marks secret, values a fixture registers), also as hex, since a log may
  print a key in hex.

Text gets ``<redacted>``; bytes keep their length (``*`` per byte) so that a
pcap's lengths, TCP sequence numbers and STUN lengths stay consistent.
Client-to-server WebSocket frames are masked (RFC 6455 §5.3), which hides a
password from a plain search but not from anyone who reads the 4-byte key in
the frame; so masked frames are unmasked, redacted and masked again.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, overload

MARK = "<redacted>"
"""What replaces a secret in text."""

MIN_LITERAL = 6
"""Shorter literal secrets are not replaced: a 2-letter value would shred every log.
ICE passwords are at least 22 characters (RFC 8445 §5.3), far above this."""

_NAMES = (
    r"(?:[A-Za-z0-9]+[_-])*"
    r"(?:pwd|password|passwd|passphrase|secret|token|api[_-]?key|integrity[_-]?key|hmac[_-]?key)"
)
# A secret-named member followed by ':' or '=' and a value, quoted or bare.
_QUOTED = re.compile(
    rf"""(?P<head>(?<![A-Za-z0-9]){_NAMES}["']?\s*[:=]\s*)(?P<q>["'])(?P<v>(?:\\.|(?!(?P=q))[^\\\r\n])*)(?P=q)""",
    re.IGNORECASE,
)
# Bare values stop at quotes, separators and backslashes: inside JSON-escaped SDP
# "a=ice-pwd:abc\r\n..." the "\r" is two characters that must end the value.
_BARE = re.compile(
    rf"""(?P<head>(?<![A-Za-z0-9]){_NAMES}["']?\s*[:=]\s*)(?P<v>[^\s"',;&}}\]\\<>]+)""",
    re.IGNORECASE,
)
_FLAG = re.compile(
    r"(?P<head>--[A-Za-z0-9-]*(?:pwd|password|passwd|secret|token)[ \t]+)(?P<v>[^\s\"'-][^\s\"']*)",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)(?P<v>[^\s/@]+)(?=@)")
_AUTHORIZATION = re.compile(
    r"(?P<head>\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)(?P<v>[^\s\"',;]+)",
    re.IGNORECASE,
)
_PATTERNS = (_AUTHORIZATION, _URL_USERINFO, _FLAG, _QUOTED, _BARE)

SECRET_NAME = re.compile(rf"^{_NAMES}$", re.IGNORECASE)
"""A member/key name whose value is a secret (used on target tables)."""


def _already(value: str) -> bool:
    return value == MARK or (bool(value) and set(value) == {"*"})


def _sub_text(pattern: re.Pattern[str], text: str, same_length: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group("v")
        if not value or _already(value):
            return match.group(0)
        start, end = match.span("v")
        mark = "*" * len(value) if same_length else MARK
        whole = match.group(0)
        offset = match.start(0)
        return whole[: start - offset] + mark + whole[end - offset :]

    return pattern.sub(replace, text)


@dataclass
class Redactor:
    """Pattern rules plus the literal secret values this run knows of."""

    secrets: set[str] = field(default_factory=set)

    def add(self, *values: str | None) -> None:
        """Remember literal secrets; empty and very short values are ignored (see MIN_LITERAL)."""
        for value in values:
            if value and len(value) >= MIN_LITERAL:
                self.secrets.add(value)

    def _literals(self) -> list[str]:
        forms = set()
        for value in self.secrets:
            forms.add(value)
            forms.add(value.encode("utf-8").hex())
        # Longest first: a secret that contains another is replaced whole.
        return sorted(forms, key=len, reverse=True)

    def text(self, text: str, *, same_length: bool = False) -> str:
        for literal in self._literals():
            text = text.replace(literal, "*" * len(literal) if same_length else MARK)
        for pattern in _PATTERNS:
            text = _sub_text(pattern, text, same_length)
        return text

    def bytes(self, data: bytes) -> bytes:
        # latin-1 maps every byte to one character and back: positions and lengths hold.
        plain = self.text(data.decode("latin-1"), same_length=True).encode("latin-1")
        return _redact_masked_frames(plain, self)


def _masked_frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """(payload start, payload end, mask key) of each masked WebSocket frame from offset 0.

    Stops at the first thing that is not a frame header (RFC 6455 §5.2). A TCP
    segment may end mid-frame: the part present is still listed, since the mask
    repeats every 4 bytes and a prefix unmasks on its own.
    """
    frames = []
    offset = 0
    while offset + 2 <= len(data):
        first, second = data[offset], data[offset + 1]
        if first & 0x70 or first & 0x0F not in (0x0, 0x1, 0x2, 0x8, 0x9, 0xA):
            break  # reserved bits or opcodes: not a frame boundary
        length = second & 0x7F
        head = offset + 2
        if length == 126:
            if head + 2 > len(data):
                break
            (length,) = struct.unpack_from("!H", data, head)
            head += 2
        elif length == 127:
            if head + 8 > len(data):
                break
            (length,) = struct.unpack_from("!Q", data, head)
            head += 8
        if not second & 0x80:
            offset = head + length  # server frames are not masked
            continue
        if head + 4 > len(data):
            break
        start = head + 4
        frames.append((start, min(start + length, len(data)), bytes(data[head:start])))
        offset = start + length
    return frames


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def unmask_websocket(data: bytes) -> bytes:
    """``data`` with every masked WebSocket frame's payload unmasked (same length)."""
    out = bytearray(data)
    for start, end, key in _masked_frames(data):
        out[start:end] = _xor(data[start:end], key)
    return bytes(out)


def _redact_masked_frames(data: bytes, redactor: Redactor) -> bytes:
    """Unmask, redact and re-mask every masked WebSocket frame (lengths unchanged)."""
    out = bytearray(data)
    for start, end, key in _masked_frames(data):
        clear = _xor(data[start:end], key).decode("latin-1")
        cleaned = redactor.text(clear, same_length=True).encode("latin-1")
        out[start:end] = _xor(cleaned, key)
    return bytes(out)


@overload
def redact(content: str, redactor: Redactor | None = None) -> str: ...
@overload
def redact(content: bytes, redactor: Redactor | None = None) -> bytes: ...
def redact(content: str | bytes, redactor: Redactor | None = None) -> str | bytes:
    """THE function every report writer passes its content through before it is written."""
    rules = redactor if redactor is not None else Redactor()
    if isinstance(content, bytes):
        return rules.bytes(content)
    return rules.text(content)


def secrets_of_target(target: Any) -> list[str]:
    """Values a target file marks secret: secret-named keys, URL passwords, ``secrets``.

    Duck-typed on purpose: reports must not break when the target model grows.
    """
    found: list[str] = [str(value) for value in getattr(target, "secrets", None) or ()]
    urls: list[str] = []
    endpoints = getattr(target, "endpoints", None)
    if endpoints is not None and isinstance(getattr(endpoints, "gateway", None), str):
        urls.append(endpoints.gateway)
    control = getattr(target, "control", None)
    if control is not None:
        if isinstance(getattr(control, "gateway", None), str):
            urls.append(control.gateway)
        for table in (getattr(control, "edges", {}), getattr(control, "dcs", {})):
            urls.extend(str(url) for url in table.values())
    for url in urls:
        found.extend(match.group("v") for match in _URL_USERINFO.finditer(url))
    reference = getattr(target, "reference", None)
    extra = getattr(reference, "extra", None) or {}
    found.extend(str(value) for key, value in _walk(extra) if SECRET_NAME.match(key))
    return found


def _walk(table: Any) -> Iterable[tuple[str, Any]]:
    if not hasattr(table, "items"):
        return
    for key, value in table.items():
        if hasattr(value, "items"):
            yield from _walk(value)
        else:
            yield str(key), value
