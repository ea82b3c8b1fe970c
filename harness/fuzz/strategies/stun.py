"""Hypothesis strategies for STUN/ICE: valid signed checks, attribute sets, malformed datagrams.

Example::

    from hypothesis import given
    from harness.fuzz.strategies.stun import signed_ice_checks

    @given(signed_ice_checks())
    def test_bot_answers(check): ...
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from harness.protocol.ice import ICE_CHARS, IceCredentials, build_ice_check
from harness.protocol.stun_attributes import KNOWN_TYPES, AttributeType, encode_address
from harness.protocol.stun_message import encode_message
from harness.protocol.stun_wire import MessageClass, encode_attribute, encode_header

ice_char_text = st.text(alphabet=ICE_CHARS, min_size=1)


def ice_credentials(max_ufrag: int = 32) -> st.SearchStrategy[IceCredentials]:
    """Profile-valid credentials (ufrag 4..max_ufrag, pwd 22..64 ice-chars)."""
    return st.builds(
        IceCredentials,
        st.text(alphabet=ICE_CHARS, min_size=4, max_size=max_ufrag),
        st.text(alphabet=ICE_CHARS, min_size=22, max_size=64),
    )


transaction_ids = st.binary(min_size=12, max_size=12)


@dataclass(frozen=True)
class SignedCheck:
    """A valid ULLC check and what it was built from."""

    data: bytes
    bot: IceCredentials
    client: IceCredentials
    transaction_id: bytes
    priority: int
    tiebreaker: int
    use_candidate: bool


@st.composite
def signed_ice_checks(draw: st.DrawFn) -> SignedCheck:
    """Valid signed ICE checks (aioice-built), with their credentials."""
    bot = draw(ice_credentials())
    client = draw(ice_credentials())
    tx = draw(transaction_ids)
    priority = draw(st.integers(1, 2**31 - 1))
    tiebreaker = draw(st.integers(0, 2**64 - 1))
    use_candidate = draw(st.booleans())
    data = build_ice_check(
        bot=bot,
        client=client,
        transaction_id=tx,
        priority=priority,
        tiebreaker=tiebreaker,
        use_candidate=use_candidate,
    )
    return SignedCheck(data, bot, client, tx, priority, tiebreaker, use_candidate)


def _xor_mapped(tx: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).flatmap(
        lambda ip: st.integers(0, 65535).map(
            lambda port: encode_address(str(ip), port, xor_with=tx)
        )
    )


def known_attributes(transaction_id: bytes) -> st.SearchStrategy[tuple[int, bytes]]:
    """Well-formed values of the attributes the profile knows (no integrity, no fingerprint)."""
    return st.one_of(
        st.tuples(
            st.just(int(AttributeType.USERNAME)),
            st.text(alphabet=ICE_CHARS + ":", max_size=60).map(str.encode),
        ),
        st.tuples(
            st.just(int(AttributeType.PRIORITY)),
            st.integers(1, 2**32 - 1).map(lambda v: v.to_bytes(4, "big")),
        ),
        st.tuples(
            st.sampled_from(
                [int(AttributeType.ICE_CONTROLLING), int(AttributeType.ICE_CONTROLLED)]
            ),
            st.integers(0, 2**64 - 1).map(lambda v: v.to_bytes(8, "big")),
        ),
        st.tuples(st.just(int(AttributeType.USE_CANDIDATE)), st.just(b"")),
        st.tuples(st.just(int(AttributeType.SOFTWARE)), st.text(max_size=40).map(str.encode)),
        st.tuples(st.just(int(AttributeType.XOR_MAPPED_ADDRESS)), _xor_mapped(transaction_id)),
    )


comprehension_optional_unknown = st.tuples(
    st.integers(0x8000, 0xFFFF).filter(lambda t: t not in KNOWN_TYPES), st.binary(max_size=40)
)
comprehension_required_unknown = st.tuples(
    st.integers(0x0000, 0x7FFF).filter(lambda t: t not in KNOWN_TYPES), st.binary(max_size=40)
)


def attribute_sets(
    transaction_id: bytes, *, unknown_required: bool = False
) -> st.SearchStrategy[list[tuple[int, bytes]]]:
    """Arbitrary attribute lists: known values plus unknown comprehension-optional types,
    and, if asked, unknown comprehension-required ones (which a bot answers 420)."""
    parts = [known_attributes(transaction_id), comprehension_optional_unknown]
    if unknown_required:
        parts.append(comprehension_required_unknown)
    return st.lists(st.one_of(*parts), max_size=8)


@dataclass(frozen=True)
class BuiltMessage:
    data: bytes
    method: int
    message_class: MessageClass
    transaction_id: bytes
    attributes: tuple[tuple[int, bytes], ...]
    key: bytes | None


@st.composite
def stun_messages(draw: st.DrawFn, *, signed: bool | None = None) -> BuiltMessage:
    """Well-formed messages of any class, optionally signed, always with FINGERPRINT."""
    tx = draw(transaction_ids)
    method = draw(st.sampled_from([0x001, 0x003, 0x004, 0x00A, 0xFFF]))
    message_class = draw(st.sampled_from(list(MessageClass)))
    attributes = draw(attribute_sets(tx))
    use_key = draw(st.booleans()) if signed is None else signed
    key = draw(st.binary(min_size=1, max_size=40)) if use_key else None
    data = encode_message(method, message_class, tx, attributes, integrity_key=key)
    return BuiltMessage(data, method, message_class, tx, tuple(attributes), key)


@st.composite
def malformed_datagrams(draw: st.DrawFn) -> bytes:
    """Datagrams a STUN parser must survive: random bytes, truncations, bad headers,
    TLVs that overrun, lengths that lie."""
    kind = draw(st.sampled_from(["random", "truncated", "header", "overrun", "length"]))
    if kind == "random":
        return draw(st.binary(max_size=200))
    base = draw(stun_messages()).data
    if kind == "truncated":
        return base[: draw(st.integers(0, len(base) - 1))]
    if kind == "header":
        mutated = bytearray(base)
        index = draw(st.integers(0, 19))
        mutated[index] ^= draw(st.integers(1, 255))
        return bytes(mutated)
    if kind == "overrun":
        value = draw(st.binary(max_size=16))
        declared = draw(st.integers(len(value) + 1, 0xFFFF))
        body = declared.to_bytes(2, "big").join([b"\x80\x22", value])
        return encode_header(0x0001, len(body), draw(transaction_ids)) + body
    good = encode_attribute(0x8022, b"x")
    wrong = draw(st.integers(0, 0xFFFF).filter(lambda n: n != len(good)))
    return encode_header(0x0001, wrong, draw(transaction_ids)) + good
