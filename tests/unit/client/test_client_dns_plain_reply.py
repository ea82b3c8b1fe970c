"""The client's own reading of a plain A answer agrees with dnspython's, or defers to it."""

from __future__ import annotations

from collections.abc import Callable

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from harness.client.dns import _plain_a_reply, _read_reply, _Reply

NAME = "media.ullc.test."


def _answer(*records: tuple[str, int, str, str]) -> Callable[[dns.message.Message], bytes]:
    def build(query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        for owner, ttl, rdtype, value in records:
            response.answer.append(dns.rrset.from_text(owner, ttl, "IN", rdtype, value))
        return response.to_wire()

    return build


def _with(change: Callable[[dns.message.Message], None]) -> Callable[[dns.message.Message], bytes]:
    def build(query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(NAME, 30, "IN", "A", "127.0.0.5"))
        change(response)
        return response.to_wire()

    return build


def _nxdomain(response: dns.message.Message) -> None:
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.answer.clear()


def _other_id(response: dns.message.Message) -> None:
    response.id ^= 1


def _edns(response: dns.message.Message) -> None:
    response.use_edns(0)


def _truncated(response: dns.message.Message) -> None:
    response.flags |= dns.flags.TC


PLAIN = {
    "one A": _answer((NAME, 30, "A", "127.0.0.5")),
    "two A, lower TTL second": _answer((NAME, 60, "A", "127.0.0.5"), (NAME, 20, "A", "127.0.0.6")),
    "the same A twice": _answer((NAME, 30, "A", "127.0.0.5"), (NAME, 10, "A", "127.0.0.5")),
}
DEFERRED = {
    "CNAME then A": _answer(("alias.ullc.test.", 30, "CNAME", NAME), (NAME, 30, "A", "127.0.0.7")),
    "A of another name": _answer(("other.ullc.test.", 30, "A", "127.0.0.8")),
    "AAAA only": _answer((NAME, 30, "AAAA", "::1")),
    "no answer": _answer(),
    "NXDOMAIN": _with(_nxdomain),
    "another ID": _with(_other_id),
    "EDNS": _with(_edns),
    "TC set": _with(_truncated),
}


def _dnspython(query: dns.message.Message, wire: bytes) -> _Reply | None:
    """What the client did with dnspython alone: None for a datagram it skips."""
    try:
        answer = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    if not query.is_response(answer):
        return None
    return _read_reply(answer, dns.rdatatype.A)


@pytest.mark.parametrize("shape", sorted(PLAIN))
def test_plain_answers_are_read_as_dnspython_reads_them(shape: str) -> None:
    query = dns.message.make_query(NAME, dns.rdatatype.A)
    wire = PLAIN[shape](query)
    plain = _plain_a_reply(query.to_wire(), wire)
    assert plain is not None, "the common shape must not need dnspython"
    assert plain == _dnspython(query, wire)


@pytest.mark.parametrize("shape", sorted(DEFERRED))
def test_every_other_shape_is_left_to_dnspython(shape: str) -> None:
    query = dns.message.make_query(NAME, dns.rdatatype.A)
    assert _plain_a_reply(query.to_wire(), DEFERRED[shape](query)) is None


@pytest.mark.parametrize("cut", [1, 4, 11])
def test_a_short_or_padded_datagram_is_left_to_dnspython(cut: int) -> None:
    query = dns.message.make_query(NAME, dns.rdatatype.A)
    wire = PLAIN["one A"](query)
    assert _plain_a_reply(query.to_wire(), wire[:-cut]) is None
    assert _plain_a_reply(query.to_wire(), wire + b"\x00" * cut) is None
    assert _plain_a_reply(query.to_wire(), wire[:cut]) is None
