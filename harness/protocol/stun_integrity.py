"""MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT and their keys.

Written here rather than borrowed from aioice so that the checker verifies
aioice-built messages with an independent implementation; the RFC 5769
vectors tie both to the RFC.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import stringprep
import unicodedata

from .errors import CredentialError
from .stun_wire import ATTRIBUTE_HEADER_LENGTH, HEADER_LENGTH, with_length

FINGERPRINT_XOR = 0x5354554E
SHA1_MAC_LENGTH = 20
FINGERPRINT_LENGTH = 4


def _covering(prefix: bytes, attribute_value_length: int) -> bytes:
    # The length field must count up to the end of the attribute being
    # computed, as if it were the last one (RFC 8489 §14.5, §14.6, §14.7).
    end = len(prefix) - HEADER_LENGTH + ATTRIBUTE_HEADER_LENGTH + attribute_value_length
    return with_length(prefix, end)


def message_integrity_sha1(prefix: bytes, key: bytes) -> bytes:
    """HMAC-SHA1 over ``prefix`` (the message up to the MESSAGE-INTEGRITY TLV)."""
    return hmac.new(key, _covering(prefix, SHA1_MAC_LENGTH), hashlib.sha1).digest()


def message_integrity_sha256(prefix: bytes, key: bytes, length: int = 32) -> bytes:
    """HMAC-SHA256 truncated to ``length`` bytes (16..32, a multiple of 4; RFC 8489 §14.6)."""
    mac = hmac.new(key, _covering(prefix, length), hashlib.sha256).digest()
    return mac[:length]


def fingerprint(prefix: bytes) -> int:
    """CRC-32 of the message up to the FINGERPRINT TLV, XOR 0x5354554E (RFC 8489 §14.7)."""
    return (binascii.crc32(_covering(prefix, FINGERPRINT_LENGTH)) ^ FINGERPRINT_XOR) & 0xFFFFFFFF


def short_term_key(password: str) -> bytes:
    """The HMAC key of the short-term mechanism: the password itself (RFC 8489 §9.1.1).

    RFC 8489 runs it through the PRECIS OpaqueString profile; for ICE passwords,
    which are ASCII ice-chars (RFC 8839 §5.4), that is the identity, so only
    its width-preserving steps are applied: non-ASCII spaces to U+0020, then NFC.
    """
    mapped = "".join(" " if stringprep.in_table_c12(ch) else ch for ch in password)
    return unicodedata.normalize("NFC", mapped).encode("utf-8")


def saslprep(text: str) -> str:
    """SASLprep (RFC 4013), the profile RFC 5389 §15.4 applies to long-term credentials.

    RFC 8489 §9.2.2 replaced it by OpaqueString; the RFC 5769 test vector 2.4
    was computed with SASLprep, which is why it is kept here.
    """
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    for ch in normalized:
        if (
            stringprep.in_table_c12(ch)
            or stringprep.in_table_c21(ch)
            or stringprep.in_table_c22(ch)
            or stringprep.in_table_c3(ch)
            or stringprep.in_table_c4(ch)
            or stringprep.in_table_c5(ch)
            or stringprep.in_table_c6(ch)
            or stringprep.in_table_c7(ch)
            or stringprep.in_table_c8(ch)
            or stringprep.in_table_c9(ch)
        ):
            raise CredentialError(
                f"character U+{ord(ch):04X} is prohibited by SASLprep (RFC 4013 §2.3)",
                hint="remove control, private-use and non-character code points",
            )
    has_ral = any(stringprep.in_table_d1(ch) for ch in normalized)
    if has_ral and (
        any(stringprep.in_table_d2(ch) for ch in normalized)
        or not stringprep.in_table_d1(normalized[0])
        or not stringprep.in_table_d1(normalized[-1])
    ):
        raise CredentialError("bidirectional text breaks RFC 3454 §6 (SASLprep)")
    return normalized


def long_term_key(username: str, realm: str, password: str) -> bytes:
    """MD5(username ":" realm ":" password), each SASLprep'd (RFC 5389 §15.4)."""
    material = f"{saslprep(username)}:{saslprep(realm)}:{saslprep(password)}"
    return hashlib.md5(material.encode("utf-8"), usedforsecurity=False).digest()
