"""Hand-built ICE checks and signaling for the stack's integration tests (no harness client).

Deliberately independent of harness.client: these tests pin the reference
stack's wire behaviour with nothing but aioice.stun, websockets and sockets.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

import redis
from aioice import stun
from websockets.sync.client import ClientConnection, connect

from harness.stack import store_password
from harness.stack.local.backend import LocalBackend

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


@dataclass(frozen=True)
class Creds:
    client_ufrag: str
    client_pwd: str
    bot_ufrag: str
    bot_pwd: str

    @classmethod
    def new(cls) -> Creds:
        return cls(
            secrets.token_hex(8), secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(16)
        )


def check(
    creds: Creds,
    *,
    password: str | None = None,
    transaction_id: bytes | None = None,
    controlled: bool = False,
) -> tuple[bytes, bytes]:
    """An ICE connectivity check (RFC 8445 §7.2.2) signed with ``password`` (the bot pwd)."""
    message = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, transaction_id)
    message.attributes["USERNAME"] = f"{creds.bot_ufrag}:{creds.client_ufrag}"
    message.attributes["PRIORITY"] = 0x6E7F1EFF
    role = "ICE-CONTROLLED" if controlled else "ICE-CONTROLLING"
    message.attributes[role] = secrets.randbits(64)
    message.add_message_integrity((password or creds.bot_pwd).encode())
    return bytes(message), message.transaction_id


def client_socket(stack: LocalBackend, region: str | None = None, host: int = 10) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((stack.plan.client_ip(region, host), 0))
    return sock


def receive(sock: socket.socket, timeout: float) -> bytes | None:
    sock.settimeout(timeout)
    try:
        data, _ = sock.recvfrom(2048)
    except TimeoutError:
        return None
    return data


def ping_until_answer(
    sock: socket.socket,
    target: tuple[str, int],
    datagram: bytes,
    *,
    deadline_s: float = 3.0,
    pacing_s: float = 0.05,
) -> stun.Message | None:
    """Send ``datagram`` every ``pacing_s`` until its answer arrives or time runs out.

    Answers to other transactions (late replies to an earlier test step) are skipped.
    """
    end = time.monotonic() + deadline_s
    next_send = 0.0
    while time.monotonic() < end:
        if time.monotonic() >= next_send:
            sock.sendto(datagram, target)
            next_send = time.monotonic() + pacing_s
        data = receive(sock, max(next_send - time.monotonic(), 0.001))
        if data is not None and data[8:20] == datagram[8:20]:
            return stun.parse_message(data)
    return None


def open_gateway(stack: LocalBackend, region: str | None = None) -> ClientConnection:
    # Bind the TCP connection in the client's subnet, like a client of that region.
    return connect(
        stack.plan.gateway_url,
        source_address=(stack.plan.client_ip(region, 20), 0),
        open_timeout=5,
    )


def create_request(
    creds: Creds, edge_ip: str | None, *, mode: str = "ullc", request_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "session.create",
        "request_id": request_id or secrets.token_hex(4),
        "mode": mode,
        "client": {"sdp": SDP, "ice_ufrag": creds.client_ufrag, "ice_pwd": creds.client_pwd},
    }
    if mode == "ullc":
        body["bot"] = {"ice_ufrag": creds.bot_ufrag, "ice_pwd": creds.bot_pwd}
        body["edge_ip"] = edge_ip
    return body


def signal(ws: ClientConnection, body: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    ws.send(json.dumps(body))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return reply


def is_authentic_success(message: stun.Message | None, password: str) -> bool:
    return (
        message is not None
        and message.message_class == stun.Class.RESPONSE
        and message.check_message_integrity(password.encode())
        and "FINGERPRINT" in message.attributes
    )


def store(stack: LocalBackend, dc: str) -> redis.Redis:
    """A client of ``dc``'s Redis with the run's password (it refuses commands without)."""
    host, port = stack.plan.dcs[dc].redis
    password = store_password.read(stack.run_dir)
    return redis.Redis(host=host, port=port, password=password, socket_timeout=2)
