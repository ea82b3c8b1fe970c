"""Resolve the global media endpoint to the nearest edge (overview, step 1).

One DNS query per call over UDP, from the client's bind address: the answer
depends on where the query comes from (the reference responder picks the edge
of the client's region), so the source address is part of the question.
"""

from __future__ import annotations

import asyncio
import socket
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


async def _ask(
    query: dns.message.Message, server: tuple[str, int], bind_ip: str | None, timeout_s: float
) -> dns.message.Message:
    """One UDP exchange: the first answer to ``query`` from ``server`` (TimeoutError if none).

    A plain non-blocking socket on the running loop, not ``dns.asyncquery.udp``: that
    builds a datagram transport and protocol per query, about a third of the client's
    CPU per call in a burst of 500. The socket is connected, so the kernel drops
    datagrams from anyone but the server (and reports its ICMP errors as OSError);
    anything that is not an answer to this query is skipped, as a stray datagram.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        if bind_ip is not None:
            sock.bind((bind_ip, 0))
        sock.connect(server)
        await loop.sock_sendall(sock, query.to_wire())
        async with asyncio.timeout(timeout_s):
            while True:
                wire = await loop.sock_recv(sock, 65535)
                try:
                    answer = dns.message.from_wire(wire)
                except dns.exception.DNSException:
                    continue
                if query.is_response(answer):
                    return answer


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
            answer = await _ask(query, server, bind_ip, min(ATTEMPT_TIMEOUT_S, remaining))
        except TimeoutError:
            last_problem = f"no answer within {min(ATTEMPT_TIMEOUT_S, remaining):.1f} s"
            continue
        except (OSError, dns.exception.DNSException) as error:
            raise DnsFailedError(
                f"DNS query for {name} to {server[0]}:{server[1]} failed: {error}",
                hint="check [endpoints].dns and [client].bind_ip in the target file",
            ) from error
        if answer.rcode() != dns.rcode.NOERROR:
            raise DnsFailedError(
                f"DNS answered {dns.rcode.to_text(answer.rcode())} for {name}",
                hint="the global endpoint name must resolve (check [endpoints].global_endpoint)",
            )
        for rrset in answer.answer:
            if rrset.rdtype == rdtype and len(rrset) > 0:
                return DnsAnswer(
                    address=str(next(iter(rrset)).address), ttl=rrset.ttl, attempts=attempts
                )
        raise DnsFailedError(
            f"DNS answer for {name} has no {dns.rdatatype.to_text(rdtype)} record",
            hint="the responder must answer the global endpoint with the nearest edge's address",
        )
    raise DnsFailedError(
        f"DNS query for {name} to {server[0]}:{server[1]} failed after {attempts} attempts: "
        f"{last_problem}",
        hint="is the DNS responder of the target running and reachable from [client].bind_ip?",
    )
