"""ICE credentials the client pre-generates for itself and for the bot (SIG-4, SIG-8).

Both sets are drawn from :mod:`secrets`: the bot ufrag is the key every check
is looked up by (SESS-3), so it must not be guessable.
"""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass, field

ICE_CHARS = string.ascii_letters + string.digits + "+/"
"""``ice-char`` of RFC 8839 §5.4: ALPHA / DIGIT / "+" / "/" (64 symbols, 6 bits each)."""

BITS_PER_CHAR = math.log2(len(ICE_CHARS))
UFRAG_MIN_BITS = 60
"""SIG-8: a ufrag carries at least 60 bits (RFC 8445 §5.3 asks only for 24)."""
PWD_MIN_BITS = 128
"""SIG-8 and RFC 8445 §5.3: a password carries at least 128 bits."""

UFRAG_LENGTH = 16
"""96 bits: comfortably above SIG-8's 60, still short on the wire (USERNAME is two of them)."""
PWD_LENGTH = 32
"""192 bits, above the 128 of SIG-8."""


def random_ice_string(length: int) -> str:
    return "".join(secrets.choice(ICE_CHARS) for _ in range(length))


@dataclass(frozen=True)
class IceCredentials:
    """One ICE credential set; ``pwd`` is hidden from ``repr`` so it never reaches a log."""

    ufrag: str
    pwd: str = field(repr=False)

    @classmethod
    def generate(cls) -> IceCredentials:
        return cls(random_ice_string(UFRAG_LENGTH), random_ice_string(PWD_LENGTH))

    @property
    def key(self) -> bytes:
        """MESSAGE-INTEGRITY key of the short-term credential: the password (RFC 8489 §9.1.1)."""
        return self.pwd.encode("utf-8")


def entropy_bits(length: int) -> float:
    """Randomness of a generated ice-char string of ``length`` characters."""
    return length * BITS_PER_CHAR


assert entropy_bits(UFRAG_LENGTH) >= UFRAG_MIN_BITS
assert entropy_bits(PWD_LENGTH) >= PWD_MIN_BITS
