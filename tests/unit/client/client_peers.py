"""Small real peers for client unit tests: an ICE-lite UDP responder and a signaling gateway.

They listen on real loopback sockets and speak the real wire formats; each
can misbehave in one named way so a test can show what the client does then.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aioice import stun
from websockets.asyncio.server import ServerConnection, serve

from harness.protocol.ice import IceCredentials
from harness.signaling import Mode
from harness.signaling.messages import (
    BotCredentials,
    ErrorCode,
    MediaAddress,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
    parse_message,
)
from harness.target import Capabilities, ClientSettings, Endpoints, HostPort, Limits, Target


@dataclass
class Responder:
    """An ICE-lite bot on a UDP socket; ``behaviour`` picks how it answers."""

    passwords: dict[str, str] = field(default_factory=dict)
    """bot ufrag -> bot pwd of the sessions it holds."""
    drop_first: int = 0
    behaviour: str = "good"
    received: list[tuple[float, bytes]] = field(default_factory=list)
    address: tuple[str, int] = ("127.0.0.1", 0)
    transport: asyncio.DatagramTransport | None = None

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((time.monotonic(), data))
        if len(self.received) <= self.drop_first or self.behaviour == "silent":
            return
        request = stun.parse_message(data)
        ufrag = str(request.attributes["USERNAME"]).split(":")[0]
        password = self.passwords.get(ufrag)
        if password is None:
            return  # SESS-4: no session, say nothing
        key = password.encode()
        if self.behaviour == "signed_487":
            response = stun.Message(
                stun.Method.BINDING,
                stun.Class.ERROR,
                transaction_id=request.transaction_id,
                attributes={"ERROR-CODE": (487, "Role Conflict")},
            )
            response.add_message_integrity(key)
            self._send(bytes(response), addr)
            return
        response = stun.Message(
            stun.Method.BINDING,
            stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
            attributes={"XOR-MAPPED-ADDRESS": addr},
        )
        if self.behaviour == "bad_integrity":
            response.add_message_integrity(b"not-the-bot-password-at-all")
        else:
            response.add_message_integrity(key)
        raw = bytearray(bytes(response))
        if self.behaviour == "bad_fingerprint":
            raw[-1] ^= 0xFF
        self._send(bytes(raw), addr)

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)


class _ResponderProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.responder.datagram(data, (addr[0], addr[1]))


@asynccontextmanager
async def responder(**options: Any) -> AsyncIterator[Responder]:
    bot = Responder(**options)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _ResponderProtocol(bot), local_addr=("127.0.0.1", 0)
    )
    bot.transport = transport
    bot.address = transport.get_extra_info("sockname")[:2]
    try:
        yield bot
    finally:
        transport.close()


@dataclass
class Gateway:
    """A signaling gateway: stores sessions on the responders it is given."""

    holding: Responder
    """Where sessions live; its address is the response's ``media``."""
    others: tuple[Responder, ...] = ()
    """Also learn each session (the edge of a world where the bet wins)."""
    delay_s: float = 0.0
    answer: str = "created"
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    url: str = ""

    async def drop_connections(self) -> None:
        """Close every client connection, as a restarting gateway would."""
        for connection in self.connections:
            await connection.close()

    async def handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        async for frame in connection:
            body = json.loads(frame)
            self.requests.append(body)
            message = parse_message(frame)
            assert isinstance(message, SessionCreateRequest)
            asyncio.get_running_loop().create_task(self._answer(connection, message))

    async def _answer(self, connection: ServerConnection, request: SessionCreateRequest) -> None:
        if self.answer in ("conflict", "stored_silent") and request.bot is not None:
            # A session with these very credentials is already stored (an earlier
            # request's), so the checks succeed; then the gateway refuses this one,
            # or never answers it.
            for peer in (self.holding, *self.others):
                peer.passwords[request.bot.ice_ufrag] = request.bot.ice_pwd
        await asyncio.sleep(self.delay_s)
        if self.answer in ("silent", "stored_silent"):
            return
        if self.answer == "conflict":
            reply: SessionCreated | SignalingError = SignalingError(
                ErrorCode.CONFLICT, "bot.ice_ufrag is already in use", False, request.request_id
            )
        elif self.answer == "error":
            reply: SessionCreated | SignalingError = SignalingError(
                ErrorCode.UNAVAILABLE, "no DC can take the session", True, request.request_id
            )
        else:
            if request.bot is not None:
                bot = request.bot
            else:
                creds = IceCredentials.generate()
                bot = BotCredentials(creds.ufrag, creds.pwd, "v=0\r\n")
            for peer in (self.holding, *self.others):
                peer.passwords[bot.ice_ufrag] = bot.ice_pwd
            reply = SessionCreated(
                request_id=request.request_id,
                session_id=secrets.token_hex(8),
                dc="dc-test",
                media=MediaAddress(*self.holding.address),
                map_version="v1",
                bot=bot if request.mode is Mode.SEQUENTIAL else None,
            )
        await connection.send(json.dumps(reply.to_json()))


@asynccontextmanager
async def gateway(**options: Any) -> AsyncIterator[Gateway]:
    gw = Gateway(**options)
    async with serve(gw.handle, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        gw.url = f"ws://127.0.0.1:{port}/v1/signaling"
        yield gw


def make_target(url: str, edge: tuple[str, int], *, pacing_ms: int = 50) -> Target:
    return Target(
        name="unit",
        endpoints=Endpoints(gateway=url, edges=(HostPort(*edge),)),
        capabilities=Capabilities(modes=frozenset({Mode.ULLC, Mode.SEQUENTIAL})),
        client=ClientSettings(bind_ip="127.0.0.1"),
        limits=Limits(pacing_ms=pacing_ms),
    )
