"""Synchronous health probes the runner uses (no event loop: fixtures may already run one)."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from harness.stack.plan import Address


class Http:
    """A keep-alive HTTP/1.1 client for one loopback server (hop API, control APIs)."""

    def __init__(self, address: Address, timeout: float = 1.0) -> None:
        self.address = address
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                reply = self._conn.getresponse()
                raw = reply.read()
                data = json.loads(raw) if raw.strip() else None
                return reply.status, data
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def http_health(address: Address) -> str | None:
    """None when ``GET /control/health`` answers 200 with status ok, else what went wrong."""
    client = Http(address, timeout=0.5)
    try:
        status, body = client.request("GET", "/control/health")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return f"GET /control/health: {error}"
    finally:
        client.close()
    if status != 200 or not isinstance(body, dict) or body.get("status") != "ok":
        return f"GET /control/health answered {status} {body}"
    return None


def redis_ping(address: Address, password: str | None = None) -> str | None:
    """None when the Redis at ``address`` answers PING with PONG (raw RESP, no client pool);
    with ``password``, AUTH goes first in the same write (its +OK precedes the +PONG)."""
    command = b"*1\r\n$4\r\nPING\r\n"
    if password is not None:
        secret = password.encode()
        command = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(secret), secret) + command
    try:
        with socket.create_connection(address, timeout=0.5) as sock:
            sock.sendall(command)
            reply = sock.recv(64)
            if password is not None and reply.startswith(b"+OK\r\n"):
                reply = reply[5:] or sock.recv(64)
    except OSError as error:
        return f"PING: {error}"
    return None if reply.startswith(b"+PONG") else f"PING answered {reply!r}"


def dns_query(server: Address, name: str, source: str) -> str | None:
    """None when the responder answers an A record for ``name`` to a query from ``source``."""
    query = dns.message.make_query(name, dns.rdatatype.A)
    try:
        reply = dns.query.udp(query, server[0], port=server[1], timeout=0.5, source=source)
    except (OSError, dns.exception.DNSException) as error:
        return f"DNS query for {name}: {error!r}"
    if reply.rcode() != dns.rcode.NOERROR or not reply.answer:
        return f"DNS query for {name} answered {dns.rcode.to_text(reply.rcode())} without an A"
    return None
