"""A table of single-defect STUN datagrams shared by the checker and CLI tests.

Each defect is built from a valid ULLC exchange, so the only thing wrong with
it is the named defect; ``expected`` is the exact set of requirement IDs the
checker must report, or ``must_include`` where the defect also breaks the
integrity or fingerprint that cover it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.protocol.ice import (
    IceCredentials,
    build_binding_error,
    build_binding_success,
    build_ice_check,
)
from harness.protocol.stun_attributes import AttributeType as A
from harness.protocol.stun_attributes import encode_address, encode_error_code
from harness.protocol.stun_checker import Profile
from harness.protocol.stun_integrity import fingerprint, short_term_key
from harness.protocol.stun_message import Method, encode_message
from harness.protocol.stun_wire import MessageClass, encode_attribute, encode_raw, with_length

BOT = IceCredentials("B0tUfrag", "botPasswordIsLongEnough1")
CLIENT = IceCredentials("CliUfrag", "clientPasswordIsLong+/22")
TX = bytes.fromhex("a1a2a3a4a5a6a7a8a9aaabac")
OTHER_TX = bytes.fromhex("0102030405060708090a0b0c")
CLIENT_ADDR = ("198.51.100.7", 40000)
KEY = short_term_key(BOT.pwd)
USERNAME = f"{BOT.ufrag}:{CLIENT.ufrag}".encode()
TIEBREAKER = (0x0102030405060708).to_bytes(8, "big")
PRIORITY = (1862270975).to_bytes(4, "big")

CHECK = build_ice_check(bot=BOT, client=CLIENT, transaction_id=TX, tiebreaker=0x0102030405060708)
SUCCESS = build_binding_success(CHECK, password=BOT.pwd, mapped=CLIENT_ADDR)


@dataclass(frozen=True)
class Defect:
    name: str
    data: bytes
    expected: frozenset[str] | None = None
    must_include: str | None = None
    request: bytes | None = None
    observed: tuple[str, int] | None = None
    profile: Profile = Profile.ULLC
    password: str | None = BOT.pwd
    cli_args: tuple[str, ...] = field(default=())

    @property
    def key_id(self) -> str:
        return self.must_include or sorted(self.expected or ())[0]


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def append_fingerprint(data: bytes) -> bytes:
    body = data + encode_attribute(A.FINGERPRINT, fingerprint(data).to_bytes(4, "big"))
    return with_length(body, len(body) - 20)


def check_with(attrs: Sequence[tuple[int, bytes]], **kw: object) -> bytes:
    return encode_message(
        Method.BINDING,
        MessageClass.REQUEST,
        TX,
        attrs,
        integrity_key=kw.get("key", KEY),  # type: ignore[arg-type]
        add_fingerprint=bool(kw.get("fingerprint", True)),
    )


FULL_CHECK: list[tuple[int, bytes]] = [
    (A.USERNAME, USERNAME),
    (A.PRIORITY, PRIORITY),
    (A.ICE_CONTROLLING, TIEBREAKER),
]


def without(attr_type: int) -> list[tuple[int, bytes]]:
    return [(t, v) for t, v in FULL_CHECK if t != attr_type]


def _attribute_after_integrity() -> bytes:
    signed = check_with(FULL_CHECK, fingerprint=False)
    body = signed + encode_attribute(A.SOFTWARE, b"late")
    return append_fingerprint(with_length(body, len(body) - 20))


def _fingerprint_not_last() -> bytes:
    success = encode_message(
        Method.BINDING,
        MessageClass.SUCCESS,
        TX,
        [(A.XOR_MAPPED_ADDRESS, encode_address(*CLIENT_ADDR, xor_with=TX))],
    )
    body = success + encode_attribute(A.SOFTWARE, b"tail")
    return with_length(body, len(body) - 20)


def _short_padding() -> bytes:
    data = encode_raw(0x0011, TX, [(A.SOFTWARE, b"abcde")])  # a Binding indication
    cut = data[:-2]
    return with_length(cut, len(cut) - 20)


def _success_with(xma_value: bytes) -> bytes:
    return encode_message(
        Method.BINDING,
        MessageClass.SUCCESS,
        TX,
        [(A.XOR_MAPPED_ADDRESS, xma_value)],
        integrity_key=KEY,
    )


def _length_field_plus_four() -> bytes:
    (length,) = struct.unpack_from("!H", CHECK, 2)
    return with_length(CHECK, length + 4)


DEFECTS = [
    Defect("bad CRC", flip(CHECK, len(CHECK) - 1), frozenset({"STUN-9"})),
    Defect(
        "bad HMAC (signed with another password)",
        check_with(FULL_CHECK, key=short_term_key("someOtherPasswordOf22+")),
        frozenset({"STUN-10"}),
    ),
    Defect("wrong magic cookie", flip(CHECK, 4), must_include="STUN-2"),
    Defect("length field off by four", _length_field_plus_four(), frozenset({"STUN-3"})),
    Defect("truncated datagram", CHECK[:-6], must_include="STUN-3"),
    Defect("shorter than a header", CHECK[:10], frozenset({"STUN-3"})),
    Defect("top bits set", flip(CHECK, 0, 0x80), must_include="STUN-1"),
    Defect(
        "unknown address family",
        _success_with(bytes([0, 3]) + bytes(6)),
        frozenset({"STUN-12"}),
        request=CHECK,
    ),
    Defect(
        "XOR-MAPPED-ADDRESS length wrong for IPv4",
        _success_with(encode_address(*CLIENT_ADDR, xor_with=TX) + bytes(4)),
        frozenset({"STUN-12"}),
        request=CHECK,
    ),
    Defect(
        "FINGERPRINT not last",
        _fingerprint_not_last(),
        frozenset({"STUN-8"}),
        profile=Profile.RFC,
    ),
    Defect(
        "attribute after MESSAGE-INTEGRITY", _attribute_after_integrity(), frozenset({"STUN-7"})
    ),
    Defect(
        "transaction ID not echoed",
        build_binding_success(
            build_ice_check(bot=BOT, client=CLIENT, transaction_id=OTHER_TX),
            password=BOT.pwd,
            mapped=CLIENT_ADDR,
        ),
        frozenset({"STUN-5"}),
        request=CHECK,
    ),
    Defect("bad padding length", _short_padding(), must_include="STUN-6", profile=Profile.RFC),
    Defect(
        "wrong XOR-MAPPED-ADDRESS",
        build_binding_success(CHECK, password=BOT.pwd, mapped=("198.51.100.8", 40000)),
        frozenset({"STUN-13"}),
        request=CHECK,
        observed=CLIENT_ADDR,
    ),
    Defect("check without PRIORITY", check_with(without(A.PRIORITY)), frozenset({"STUN-22"})),
    Defect(
        "check without ICE-CONTROLLING",
        check_with(without(A.ICE_CONTROLLING)),
        frozenset({"STUN-23"}),
    ),
    Defect(
        "check with ICE-CONTROLLED instead",
        check_with([*without(A.ICE_CONTROLLING), (A.ICE_CONTROLLED, TIEBREAKER)]),
        frozenset({"STUN-23"}),
    ),
    Defect("check without USERNAME", check_with(without(A.USERNAME)), frozenset({"STUN-21"})),
    Defect(
        "check without MESSAGE-INTEGRITY", check_with(FULL_CHECK, key=None), frozenset({"STUN-24"})
    ),
    Defect(
        "check without FINGERPRINT",
        check_with(FULL_CHECK, fingerprint=False),
        frozenset({"STUN-8"}),
    ),
    Defect(
        "unknown comprehension-required attribute",
        check_with([*FULL_CHECK, (0x7F01, b"????")]),
        frozenset({"STUN-14"}),
    ),
    Defect(
        "bad MESSAGE-INTEGRITY-SHA256",
        encode_message(
            Method.BINDING,
            MessageClass.REQUEST,
            TX,
            FULL_CHECK,
            integrity_key=KEY,
            integrity_sha256_key=b"not the password",
        ),
        frozenset({"STUN-11"}),
    ),
    Defect(
        "401 signed with MESSAGE-INTEGRITY",
        encode_message(
            Method.BINDING,
            MessageClass.ERROR,
            TX,
            [(A.ERROR_CODE, encode_error_code(401, "Unauthenticated"))],
            integrity_key=KEY,
        ),
        frozenset({"STUN-50"}),
        request=CHECK,
    ),
    Defect(
        "420 without UNKNOWN-ATTRIBUTES",
        encode_message(
            Method.BINDING,
            MessageClass.ERROR,
            TX,
            [(A.ERROR_CODE, encode_error_code(420, "Unknown Attribute"))],
            integrity_key=KEY,
        ),
        frozenset({"STUN-46"}),
        request=CHECK,
    ),
    Defect(
        "long-term REALM in a ULLC check",
        check_with([*FULL_CHECK, (A.REALM, b"example.org")]),
        frozenset({"STUN-16"}),
        password=None,
    ),
]

VALID = {
    "ULLC check": (CHECK, None, None),
    "ULLC success": (SUCCESS, CHECK, CLIENT_ADDR),
    "ULLC 401": (build_binding_error(CHECK, 401), CHECK, None),
    "ULLC 487": (build_binding_error(CHECK, 487, password=BOT.pwd), CHECK, None),
    "ULLC 420": (
        build_binding_error(CHECK, 420, password=BOT.pwd, unknown_attributes=[0x7F01]),
        CHECK,
        None,
    ),
}
