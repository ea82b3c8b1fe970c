"""A UDP socket whose datagrams go to one callback, with a way to answer the sender."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

Receiver = Callable[[bytes, tuple[str, int], Callable[[bytes], None]], None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receive: Receiver) -> None:
        self._receive = receive
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        if transport is None:
            return
        source = (addr[0], addr[1])

        def reply(payload: bytes) -> None:
            if not transport.is_closing():
                transport.sendto(payload, source)

        self._receive(data, source, reply)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: nothing to do for UDP.
        pass


async def listen(host: str, port: int, receive: Receiver) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Protocol(receive), local_addr=(host, port)
    )
    return transport
