"""Resolve the global media endpoint to the nearest edge (overview, step 1).

One DNS query per call over UDP, from the client's bind address: the answer
depends on where the query comes from (the reference responder picks the edge
of the client's region), so the source address is part of the question.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from harness.errors import HarnessError

ATTEMPT_TIMEOUT_S = 1.0
"""One lost UDP query must not eat the whole call deadline: re-ask after this long."""


class DnsFailedError(HarnessError):
    """The global endpoint did not resolve to an address (timeout, error rcode, no A/AAAA).

    Check ``[endpoints].dns`` and ``global_endpoint`` in the target file.
    """


_HEADER = struct.Struct("!HHHHHH")  # id, flags, and the four section counts
_RECORD = struct.Struct("!2sHHIH")  # owner (a 2-byte pointer here), type, class, TTL, length
_QR, _OPCODE, _TC, _RCODE = 0x8000, 0x7800, 0x0200, 0x000F
_TO_QUESTION_NAME = b"\xc0\x0c"  # a compression pointer to the name at offset 12
_TYPE_A = int(dns.rdatatype.A)
_CLASS_IN = 1


@dataclass(frozen=True)
class _Reply:
    rcode: dns.rcode.Rcode
    found: tuple[str, int] | None
    """The first address of the asked type's first rrset and that rrset's TTL."""


def _plain_a_reply(query_wire: bytes, wire: bytes) -> _Reply | None:
    """The common answer read without dnspython; None leaves the datagram to dnspython.

    Taken only in the one shape whose reading is plain: a NOERROR response to this
    very query (same ID and opcode, the question byte for byte) whose answer section
    is A records for the question's name and nothing else follows. dnspython reads that
    as one A rrset: the first record's address, the lowest TTL (Rdataset.update_ttl).
    Why: dnspython's parse and is_response cost ~0.2 ms a call, a tenth of the client's
    CPU per call in a burst. Anything else (another rcode, a CNAME, EDNS, a truncated or
    padded answer) goes to dnspython, whose verdict then stands.
    """
    if len(wire) < _HEADER.size or len(query_wire) < _HEADER.size:
        return None
    qid, qflags, qd, an, ns, ar = _HEADER.unpack_from(query_wire)
    if (qd, an, ns, ar) != (1, 0, 0, 0):
        return None
    rid, flags, rqd, ran, rns, rar = _HEADER.unpack_from(wire)
    if rid != qid or not flags & _QR or flags & (_TC | _RCODE) or (flags ^ qflags) & _OPCODE:
        return None
    if (rqd, rns, rar) != (1, 0, 0) or ran == 0:
        return None
    end = len(query_wire)
    if wire[_HEADER.size : end] != query_wire[_HEADER.size :]:
        return None
    first: bytes | None = None
    ttl = 0
    for _ in range(ran):
        if end + _RECORD.size + 4 > len(wire):
            return None
        owner, rdtype, rdclass, record_ttl, length = _RECORD.unpack_from(wire, end)
        if owner != _TO_QUESTION_NAME or (rdtype, rdclass, length) != (_TYPE_A, _CLASS_IN, 4):
            return None
        end += _RECORD.size
        if first is None:
            first, ttl = wire[end : end + 4], record_ttl
        ttl = min(ttl, record_ttl)
        end += 4
    if end != len(wire) or first is None:
        return None
    return _Reply(dns.rcode.Rcode.NOERROR, (socket.inet_ntoa(first), ttl))


def _read_reply(message: dns.message.Message, rdtype: dns.rdatatype.RdataType) -> _Reply:
    for rrset in message.answer:
        if rrset.rdtype == rdtype and len(rrset) > 0:
            return _Reply(message.rcode(), (str(next(iter(rrset)).address), rrset.ttl))
    return _Reply(message.rcode(), None)


async def _ask(
    query: dns.message.Message,
    rdtype: dns.rdatatype.RdataType,
    server: tuple[str, int],
    bind_ip: str | None,
    timeout_s: float,
) -> _Reply:
    """One UDP exchange: the first answer to ``query`` from ``server`` (TimeoutError if none).

    A plain non-blocking socket on the running loop, not ``dns.asyncquery.udp``: that
    builds a datagram transport and protocol per query, about a third of the client's
    CPU per call in a burst of 500. The socket is connected, so the kernel drops
    datagrams from anyone but the server (and reports its ICMP errors as OSError);
    anything that is not an answer to this query is skipped, as a stray datagram.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    query_wire = query.to_wire()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        if bind_ip is not None:
            sock.bind((bind_ip, 0))
        sock.connect(server)
        await loop.sock_sendall(sock, query_wire)
        async with asyncio.timeout(timeout_s):
            while True:
                wire = await loop.sock_recv(sock, 65535)
                plain = _plain_a_reply(query_wire, wire) if rdtype == _TYPE_A else None
                if plain is not None:
                    return plain
                try:
                    answer = dns.message.from_wire(wire)
                except dns.exception.DNSException:
                    continue
                if query.is_response(answer):
                    return _read_reply(answer, rdtype)


@dataclass(frozen=True)
class DnsAnswer:
    address: str
    ttl: int
    attempts: int


async def resolve_edge(
    name: str,
    server: tuple[str, int],
    *,
    bind_ip: str | None,
    timeout_s: float,
    ipv6: bool = False,
) -> DnsAnswer:
    """The first A (or AAAA with ``ipv6``) address of ``name`` asked from ``server``.

    Retries with a fresh query every :data:`ATTEMPT_TIMEOUT_S` until ``timeout_s``
    has passed; raises :class:`DnsFailedError`.
    """
    rdtype = dns.rdatatype.AAAA if ipv6 else dns.rdatatype.A
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    attempts = 0
    last_problem = "no attempt made"
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        attempts += 1
        query = dns.message.make_query(name, rdtype)
        try:
            reply = await _ask(query, rdtype, server, bind_ip, min(ATTEMPT_TIMEOUT_S, remaining))
        except TimeoutError:
            last_problem = f"no answer within {min(ATTEMPT_TIMEOUT_S, remaining):.1f} s"
            continue
        except (OSError, dns.exception.DNSException) as error:
            raise DnsFailedError(
                f"DNS query for {name} to {server[0]}:{server[1]} failed: {error}",
                hint="check [endpoints].dns and [client].bind_ip in the target file",
            ) from error
        if reply.rcode != dns.rcode.NOERROR:
            raise DnsFailedError(
                f"DNS answered {dns.rcode.to_text(reply.rcode)} for {name}",
                hint="the global endpoint name must resolve (check [endpoints].global_endpoint)",
            )
        if reply.found is not None:
            address, ttl = reply.found
            return DnsAnswer(address=address, ttl=ttl, attempts=attempts)
        raise DnsFailedError(
            f"DNS answer for {name} has no {dns.rdatatype.to_text(rdtype)} record",
            hint="the responder must answer the global endpoint with the nearest edge's address",
        )
    raise DnsFailedError(
        f"DNS query for {name} to {server[0]}:{server[1]} failed after {attempts} attempts: "
        f"{last_problem}",
        hint="is the DNS responder of the target running and reachable from [client].bind_ip?",
    )
