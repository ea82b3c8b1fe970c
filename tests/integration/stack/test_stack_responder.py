"""The bot's answers through the running stack follow decide(), the executable specs/stun.md.

Wire-level rules that test_reference_stack.py does not already pin: MI-SHA256
(STUN-11), what a check may leave out (STUN-43), 420 (STUN-46), and the silent
discards of STUN-40..44, each checked at the client's socket, behind edge,
hops, ingress and bot.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator, Sequence

import pytest
from ullc_stack_helpers import (
    Creds,
    check,
    client_socket,
    create_request,
    open_gateway,
    ping_until_answer,
    receive,
    signal,
)

from harness.protocol.ice import CHECK_PRIORITY
from harness.protocol.stun_attributes import AttributeType
from harness.protocol.stun_checker import check_stun
from harness.protocol.stun_integrity import fingerprint, short_term_key
from harness.protocol.stun_message import Method, encode_message, parse_message, verify_integrity
from harness.protocol.stun_wire import MessageClass, encode_type, with_length
from harness.stack.local.backend import LocalBackend, start_local_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalBackend]:
    with start_local_stack(network="auto", timeout=30) as running:
        yield running


@pytest.fixture
def session(stack: LocalBackend) -> Creds:
    creds = Creds.new()
    with open_gateway(stack) as ws:
        created = signal(ws, create_request(creds, stack.plan.edge_public("edge-us")[0]))
    assert created["type"] == "session.created", created
    return creds


def _attributes(creds: Creds, *extra: tuple[int, bytes]) -> list[tuple[int, bytes]]:
    return [
        (AttributeType.USERNAME, f"{creds.bot_ufrag}:{creds.client_ufrag}".encode()),
        (AttributeType.PRIORITY, CHECK_PRIORITY.to_bytes(4, "big")),
        (AttributeType.ICE_CONTROLLING, secrets.token_bytes(8)),
        *extra,
    ]


def _request(attributes: Sequence[tuple[int, bytes]], **signing: object) -> bytes:
    return encode_message(
        Method.BINDING,
        MessageClass.REQUEST,
        secrets.token_bytes(12),
        attributes,
        **signing,  # type: ignore[arg-type]
    )


def _exchange(sock: socket.socket, target: tuple[str, int], datagram: bytes) -> bytes | None:
    """Raw bytes of the answer to ``datagram``, paced like a client (aioice would drop
    the MI-SHA256 attribute these tests look at)."""
    for _ in range(40):
        sock.sendto(datagram, target)
        raw = receive(sock, 0.05)
        while raw is not None:
            if raw[8:20] == datagram[8:20]:
                return raw
            raw = receive(sock, 0.001)
    return None


def test_check_signed_with_mi_sha256_only_gets_a_success_signed_the_same_way(
    stack: LocalBackend, session: Creds
) -> None:
    key = short_term_key(session.bot_pwd)
    datagram = _request(_attributes(session), integrity_sha256_key=key)
    with client_socket(stack) as sock:
        raw = _exchange(sock, stack.plan.edge_public("edge-us"), datagram)
        own = sock.getsockname()
    assert raw is not None
    response = parse_message(raw)
    # STUN-11/STUN-48: MI-SHA256 is the integrity that counts, and the answer mirrors it.
    assert response.has(AttributeType.MESSAGE_INTEGRITY_SHA256)
    assert not response.has(AttributeType.MESSAGE_INTEGRITY)
    assert verify_integrity(response, key) is True
    report = check_stun(response.raw, request=datagram, password=session.bot_pwd, observed=own)
    assert report.conformant, [str(v) for v in report.violations]


def test_check_without_priority_or_role_is_still_answered(
    stack: LocalBackend, session: Creds
) -> None:
    # STUN-43 asks only for USERNAME and an integrity attribute; without a role
    # attribute a conflict cannot be detected (RFC 8445 §7.3.1.1), so it is no error.
    username = [(AttributeType.USERNAME, f"{session.bot_ufrag}:{session.client_ufrag}".encode())]
    datagram = _request(username, integrity_key=short_term_key(session.bot_pwd))
    with client_socket(stack) as sock:
        answer = ping_until_answer(sock, stack.plan.edge_public("edge-us"), datagram)
    assert answer is not None
    assert answer.message_class.name == "RESPONSE"
    assert answer.check_message_integrity(session.bot_pwd.encode())


def test_unknown_comprehension_required_attribute_gets_a_signed_420(
    stack: LocalBackend, session: Creds
) -> None:
    key = short_term_key(session.bot_pwd)
    datagram = _request(_attributes(session, (0x7F01, b"x")), integrity_key=key)
    with client_socket(stack) as sock:
        raw = _exchange(sock, stack.plan.edge_public("edge-us"), datagram)
    assert raw is not None
    response = parse_message(raw)
    error = response.get(AttributeType.ERROR_CODE)
    unknown = response.get(AttributeType.UNKNOWN_ATTRIBUTES)
    assert error is not None
    assert getattr(error.decoded, "code", None) == 420
    assert unknown is not None
    assert unknown.decoded == (0x7F01,)
    assert verify_integrity(response, key) is True


def _refingerprint(body: bytes) -> bytes:
    """``body`` (no FINGERPRINT) with a correct FINGERPRINT appended."""
    body = with_length(body, len(body) - 20 + 8)
    return (
        body
        + AttributeType.FINGERPRINT.to_bytes(2, "big")
        + b"\x00\x04"
        + fingerprint(body).to_bytes(4, "big")
    )


def test_datagrams_the_rules_discard_get_no_answer_at_all(
    stack: LocalBackend, session: Creds
) -> None:
    genuine, _ = check(session)
    key = short_term_key(session.bot_pwd)
    indication = bytearray(genuine[:-8])
    indication[0:2] = encode_type(Method.BINDING, MessageClass.INDICATION).to_bytes(2, "big")
    other_method = bytearray(genuine[:-8])
    other_method[0:2] = encode_type(0x003, MessageClass.REQUEST).to_bytes(2, "big")
    bad_fingerprint = bytearray(genuine)
    bad_fingerprint[-1] ^= 0xFF
    no_colon = [(AttributeType.USERNAME, session.bot_ufrag.encode())]
    discarded = {
        "not STUN (STUN-40)": b"\x16\x03\x01" + bytes(45),
        "bad FINGERPRINT (STUN-41)": bytes(bad_fingerprint),
        "no FINGERPRINT (STUN-41)": _request(_attributes(session), integrity_key=key,
                                             add_fingerprint=False),
        "indication (STUN-42)": _refingerprint(bytes(indication)),
        "method 0x003 (STUN-42)": _refingerprint(bytes(other_method)),
        "USERNAME without a colon (STUN-44)": _request(no_colon, integrity_key=key),
        "unknown bot ufrag (STUN-44)": check(Creds.new())[0],
    }  # fmt: skip
    with client_socket(stack) as sock:
        for _ in range(3):
            for datagram in discarded.values():
                sock.sendto(datagram, stack.plan.edge_public("edge-us"))
        answers = []
        while (raw := receive(sock, 0.8)) is not None:
            answers.append(raw)
    assert answers == [], [json.dumps(parse_message(a).describe()) for a in answers]
