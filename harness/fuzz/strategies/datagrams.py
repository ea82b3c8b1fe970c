"""Hypothesis strategies for malformed datagrams aimed at a STUN responder, built with scapy.

scapy's STUN layer (``scapy.contrib.stun``) lets the length fields, the reserved top
bits and the magic cookie be set to values a correct encoder never writes, and its
generic TLV layer carries any attribute with any declared length; raw bytes and
truncations cover the rest. Every datagram here is one a conformant responder must
discard or answer with an error, never with a success (STUN-40..45): a
:class:`FuzzDatagram` carries the session credentials when it targets one, so a
signed-but-broken check is in the mix too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from scapy.contrib.stun import STUN, STUNGenericTlv

from harness.protocol.ice import IceCredentials, build_ice_check

from .stun import malformed_datagrams as parser_malformed
from .stun import transaction_ids


@dataclass(frozen=True)
class FuzzDatagram:
    data: bytes
    how: str


def _tlvs() -> st.SearchStrategy[list[STUNGenericTlv]]:
    tlv = st.builds(
        lambda t, value, lie: STUNGenericTlv(
            type=t, value=value, **({"length": lie} if lie is not None else {})
        ),
        st.integers(0, 0xFFFF),
        st.binary(max_size=24),
        st.one_of(st.none(), st.integers(0, 0x7FFF)),  # scapy packs lengths as signed
    )
    return st.lists(tlv, max_size=5)


@st.composite
def scapy_stun(draw: st.DrawFn) -> FuzzDatagram:
    """A STUN header with reserved bits, cookie, type and length drawn freely, generic TLVs."""
    fields: dict[str, Any] = {
        "RESERVED": draw(st.integers(0, 3)),
        "stun_message_type": draw(st.integers(0, 0x3FFF)),
        "transaction_id": int.from_bytes(draw(transaction_ids), "big"),
        "attributes": draw(_tlvs()),
    }
    if draw(st.booleans()):
        fields["magic_cookie"] = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        fields["length"] = draw(st.integers(0, 0x7FFF))
    return FuzzDatagram(bytes(STUN(**fields)), "scapy STUN with free fields")


@st.composite
def broken_signed_checks(
    draw: st.DrawFn, bot: IceCredentials, client: IceCredentials
) -> FuzzDatagram:
    """A correctly signed check for the session, then one byte flipped or one cut made:
    the integrity or fingerprint no longer verifies, or the framing breaks."""
    data = bytearray(build_ice_check(bot=bot, client=client, transaction_id=draw(transaction_ids)))
    how = draw(st.sampled_from(["flip", "cut", "append"]))
    if how == "flip":
        # Anywhere after the header: a flipped bit in a signed region breaks MI or FP.
        index = draw(st.integers(20, len(data) - 1))
        data[index] ^= draw(st.integers(1, 255))
    elif how == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    else:
        data += draw(st.binary(min_size=1, max_size=16))
    return FuzzDatagram(bytes(data), f"signed check, {how}")


@st.composite
def unsigned_checks(draw: st.DrawFn, bot: IceCredentials, client: IceCredentials) -> FuzzDatagram:
    """The session's USERNAME on a check signed with a password drawn at random."""
    forged_pwd = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=22,
                              max_size=40).filter(lambda p: p != bot.pwd))  # fmt: skip
    forged = IceCredentials(bot.ufrag, forged_pwd)
    data = build_ice_check(bot=forged, client=client, transaction_id=draw(transaction_ids))
    return FuzzDatagram(data, "check signed with a wrong password")


def hostile_datagrams(
    bot: IceCredentials | None = None, client: IceCredentials | None = None
) -> st.SearchStrategy[FuzzDatagram]:
    """Everything above, plus the parser-level corruptions of :mod:`.stun` and raw bytes.

    With the credentials of a live session, signed-but-broken and forged checks are
    included: those are the ones that reach the bot's integrity check.
    """
    parts: list[st.SearchStrategy[FuzzDatagram]] = [
        scapy_stun(),
        parser_malformed().map(lambda d: FuzzDatagram(d, "parser corruption")),
        st.binary(max_size=256).map(lambda d: FuzzDatagram(d, "raw bytes")),
    ]
    if bot is not None and client is not None:
        parts += [broken_signed_checks(bot, client), unsigned_checks(bot, client)]
    return st.one_of(*parts)


__all__ = [
    "FuzzDatagram",
    "broken_signed_checks",
    "hostile_datagrams",
    "scapy_stun",
    "unsigned_checks",
]
