"""Partial requests time out on the hop API (Toxiproxy's ``ReadTimeout``, 15 s).

aiohttp waits forever for the rest of a request whose headers never end, so a few
hundred slow clients (slowloris) would hold the hop API. :class:`ReadDeadline`
wraps aiohttp's per-connection protocol: a request must arrive complete within
:data:`READ_TIMEOUT_S` of its first byte (or of the connection, for the first one),
else the connection is closed. Bodies are bounded where they are read
(``server._body``); idle keep-alive connections by aiohttp's keepalive timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

READ_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 60.0


class ReadDeadline(asyncio.Protocol):
    """Forwards everything to aiohttp's RequestHandler; closes a request that stalls."""

    def __init__(self, inner: Any, timeout_s: float = READ_TIMEOUT_S) -> None:
        self.inner = inner  # aiohttp's RequestHandler (it counts parsed requests)
        self.timeout_s = timeout_s
        self.transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._deadline is None and self.transport is not None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but is one in kind.
        self.transport = cast(asyncio.Transport, transport)
        self.inner.connection_made(transport)
        self._arm()  # a connection that sends nothing is a stalled request too

    def data_received(self, data: bytes) -> None:
        before = self.inner._request_count
        self.inner.data_received(data)
        if self.inner._request_count > before:
            self._disarm()  # headers complete: the handler bounds the body
        else:
            self._arm()

    def eof_received(self) -> bool | None:
        result: bool | None = self.inner.eof_received()
        return result

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.transport = None
        self.inner.connection_lost(exc)
