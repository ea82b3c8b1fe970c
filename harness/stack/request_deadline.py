"""Partial HTTP requests time out: a slowloris cannot hold a stack server's connections.

aiohttp waits for the rest of a request for as long as the connection stays open
(its keep-alive timer only runs between requests), so 150 connections that each
sent half a request head held their slots for as long as the sender liked. Here
each connection's protocol is wrapped: from the first byte of a request, its
head and its ``Content-Length`` body must arrive within :data:`REQUEST_DEADLINE_S`
or the connection is closed. An idle keep-alive connection (no byte of a next
request) is left alone: the gateway keeps hundreds of them warm on purpose.

The framing read here is only what the deadline needs (end of head, body length);
aiohttp's own parser still judges the request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast

from aiohttp import web

REQUEST_DEADLINE_S = 5.0
"""From a request's first byte to its last. Requests inside the stack are a few hundred
bytes on loopback and take microseconds; 5 s only ends senders that stall on purpose."""
_HEAD_END = b"\r\n\r\n"
_HEAD_LIMIT = 65536  # aiohttp refuses longer heads itself; we only stop buffering
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)
_log = logging.getLogger("http")


class RequestDeadline(asyncio.Protocol):
    """Wraps a server protocol (aiohttp's request handler); closes on a stalled request."""

    def __init__(self, inner: asyncio.Protocol, deadline_s: float = REQUEST_DEADLINE_S) -> None:
        self.inner = inner
        self.deadline_s = deadline_s
        self.transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._body_left = 0
        self._timer: asyncio.TimerHandle | None = None
        self.timed_out = False

    # -- asyncio.Protocol, forwarded --------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but is one in kind.
        self.transport = cast(asyncio.Transport, transport)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._track(data)
        except Exception:  # a bug here must not cost the request: aiohttp still parses it
            _log.exception("request framing failed; deadline off for this request")
            self._stop_timer()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- framing ----------------------------------------------------------------------------
    def _track(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._body_left:
                taken = min(self._body_left, len(view))
                self._body_left -= taken
                view = view[taken:]
                if not self._body_left:
                    self._stop_timer()  # the request is complete
                continue
            if self._timer is None:
                self._start_timer()  # the first byte of a request
            # Search the new bytes together with the last 3 already held (a split "\r\n\r\n").
            before = len(self._head)
            self._head += view[: max(_HEAD_LIMIT - before, 0)]
            end = self._head.find(_HEAD_END, max(before - 3, 0))
            if end < 0:
                return  # the head goes on (or is oversized: the deadline ends it)
            match = _CONTENT_LENGTH.search(self._head, 0, end + 2)
            # Read the match before clearing: its groups are views of the buffer.
            self._body_left = int(match.group(1)) if match else 0
            self._head.clear()
            view = view[end + len(_HEAD_END) - before :]
            if not self._body_left:
                self._stop_timer()

    def _start_timer(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.deadline_s, self._expire)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        self.timed_out = True
        if self.transport is not None and not self.transport.is_closing():
            peer = self.transport.get_extra_info("peername")
            _log.info("closed %s: request incomplete after %g s", peer, self.deadline_s)
            self.transport.close()


class DeadlineSite(web.TCPSite):
    """A TCPSite whose connections run through :class:`RequestDeadline`."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server: Any = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: RequestDeadline(server()),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )
