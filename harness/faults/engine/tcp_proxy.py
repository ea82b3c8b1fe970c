"""TCP proxy: accept, dial upstream, pump both directions through their toxic chains.

Built on asyncio Protocols (not streams): data arrives in ``data_received``, runs
through the chain synchronously and is written at once or pushed on the shared
timer heap, so no task exists per chunk. TCP_NODELAY is set on both legs because
a hop must not add Nagle delays to small signalling messages.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any, cast

from harness.faults.engine.addresses import parse_listen
from harness.faults.engine.proxy_base import ProxyBase, bind_error
from harness.faults.model import Direction, join_host_port, split_host_port
from harness.faults.toxics.base import INACTIVE, Action, Items, Payload, State
from harness.faults.toxics.tcp import TcpToxic

_HIGH_WATER = 1 << 20  # bytes queued in toxics before the sender is paused
_LOW_WATER = 1 << 18
# Bytes a client may send before its upstream is connected. Reading is paused at once,
# so one read (asyncio reads at most 256 KiB) is the most that normally arrives.
_EARLY_LIMIT = 1 << 20


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _peer(transport: asyncio.BaseTransport | None, key: str) -> tuple[str, int]:
    if transport is None:
        return ("0.0.0.0", 0)
    address = transport.get_extra_info(key)
    return (str(address[0]), int(address[1])) if address else ("0.0.0.0", 0)


class Pipe:
    """One direction of one connection: source transport -> toxics -> destination transport."""

    def __init__(self, connection: Connection, direction: Direction) -> None:
        self.connection = connection
        self.direction = direction
        self.chain: list[TcpToxic] = connection.proxy.chains[direction]
        self.states: dict[TcpToxic, Any] = {}
        self.last_out = 0.0
        self.pending = 0
        self.pending_bytes = 0

    # LinkControl for toxics
    def now(self) -> float:
        return time.monotonic()

    def act_at(self, when: float, action: Action) -> object:
        return self.connection.proxy.loop.call_at(when, self.connection.perform, action)

    def cancel(self, handle: object) -> None:
        # Duck-typed: uvloop's TimerHandle is no asyncio.TimerHandle subclass.
        cancel = getattr(handle, "cancel", None)
        if callable(cancel):
            cancel()

    def attach(self, toxic: TcpToxic) -> Any:
        state: Any = toxic.attach(self) if toxic.applies() else INACTIVE
        self.states[toxic] = state
        return state

    def detach(self, toxic: TcpToxic, *, final: bool = False) -> None:
        state = self.states.pop(toxic, None)
        if isinstance(state, State):
            toxic.detach(state, self)
        if final and toxic.CLOSES_ON_REMOVAL and state is not None:
            # Toxiproxy runs the toxic's Cleanup on every link of its direction,
            # whatever toxicity decided for that link.
            self.connection.close()

    def detach_all(self) -> None:
        for toxic in list(self.states):
            self.detach(toxic)

    def feed(self, payload: Payload) -> None:
        now = time.monotonic()
        proxy = self.connection.proxy
        if proxy.capture and isinstance(payload, bytes):
            src, dst = self.connection.endpoints(self.direction)
            proxy.capture.add(self.direction, "in", src, dst, payload)
        items: Items = [(now, payload)]
        for toxic in self.chain:
            state = self.states.get(toxic)
            if state is None:
                state = self.attach(toxic)
            if state is INACTIVE:
                continue
            out: Items = []
            for when, item in items:
                toxic.process(state, self, when, item, out)
            items = out
            if not items:
                return
        for when, item in items:
            self._emit(now, when, item)

    def _emit(self, now: float, when: float, payload: Payload) -> None:
        # Never overtake earlier data, also across toxic removal (keeps TCP in order).
        when = max(when, self.last_out)
        self.last_out = when
        if when <= now and self.pending == 0:
            self.deliver(payload)
            return
        self.pending += 1
        if isinstance(payload, bytes):
            self.pending_bytes += len(payload)
            if self.pending_bytes > _HIGH_WATER:
                self.connection.pause(self.direction, "queue", True)
        self.connection.proxy.timers.push(when, self._scheduled, payload)

    def _scheduled(self, payload: Payload) -> None:
        self.pending -= 1
        if isinstance(payload, bytes):
            self.pending_bytes -= len(payload)
            if self.pending_bytes < _LOW_WATER:
                self.connection.pause(self.direction, "queue", False)
        self.deliver(payload)

    def deliver(self, payload: Payload) -> None:
        connection = self.connection
        if connection.closed:
            return
        if isinstance(payload, bytes):
            destination = connection.destination(self.direction)
            if destination is None or destination.is_closing():
                return
            destination.write(payload)
            if connection.proxy.capture:
                src, dst = connection.endpoints(self.direction)
                connection.proxy.capture.add(self.direction, "out", src, dst, payload)
        else:
            connection.perform(payload, self.direction)


class Connection:
    """A client connection and its upstream connection, with one Pipe per direction."""

    def __init__(self, proxy: TcpProxy, client: asyncio.Transport) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: asyncio.Transport | None = None
        self.closed = False
        self.pipes = {d: Pipe(self, d) for d in Direction}
        self._eof_sent: set[Direction] = set()
        self._paused: dict[Direction, set[str]] = {d: set() for d in Direction}
        # What the client sent before upstream was connected, in order. Toxiproxy reads
        # nothing before its dial returns; here bytes that arrive meanwhile are held.
        self.dialing = True
        self._early: list[Payload] = []
        self._early_bytes = 0
        for pipe in self.pipes.values():
            for toxic in pipe.chain:
                pipe.attach(toxic)

    def source(self, direction: Direction) -> asyncio.Transport | None:
        return self.client if direction is Direction.UPSTREAM else self.upstream

    def destination(self, direction: Direction) -> asyncio.Transport | None:
        return self.upstream if direction is Direction.UPSTREAM else self.client

    def endpoints(self, direction: Direction) -> tuple[tuple[str, int], tuple[str, int]]:
        client = _peer(self.client, "peername")
        server = _peer(self.upstream, "peername")
        return (client, server) if direction is Direction.UPSTREAM else (server, client)

    def pause(self, direction: Direction, reason: str, paused: bool) -> None:
        """Pause reading the sender of ``direction`` while any reason holds."""
        reasons = self._paused[direction]
        before = bool(reasons)
        if paused:
            reasons.add(reason)
        else:
            reasons.discard(reason)
        source = self.source(direction)
        if source is None or source.is_closing() or before == bool(reasons):
            return
        if reasons:
            source.pause_reading()
        else:
            source.resume_reading()

    def receive(self, payload: Payload) -> None:
        """Data or EOF from the client: into the upstream chain, or held while dialing."""
        if not self.dialing:
            self.pipes[Direction.UPSTREAM].feed(payload)
            return
        self._early.append(payload)
        if isinstance(payload, bytes):
            self._early_bytes += len(payload)
            if self._early_bytes > _EARLY_LIMIT:
                self.close()  # a client that ignores back-pressure while we dial
                return
        # Paused here, never in connection_made: there 3.11.2 ignores it, and a second
        # pause_reading() is then a no-op too (the transport believes it is paused).
        self.pause(Direction.UPSTREAM, "dial", True)

    def _dialed(self) -> None:
        """Upstream is connected: replay what the client sent meanwhile, then read on."""
        self.dialing = False
        early, self._early = self._early, []
        self._early_bytes = 0
        pipe = self.pipes[Direction.UPSTREAM]
        for payload in early:
            if self.closed:
                return
            pipe.feed(payload)
        self.pause(Direction.UPSTREAM, "dial", False)

    async def dial(self) -> None:
        try:
            host, port = split_host_port(self.proxy.config.upstream)
            _, protocol = await self.proxy.loop.create_connection(
                lambda: _UpstreamSide(self), host, port
            )
        except (OSError, ValueError):
            # Toxiproxy closes the client when the upstream refuses; so do we.
            self.close()
            return
        if self.closed:
            protocol.transport_close()
            return
        self._dialed()

    def perform(self, action: Action, direction: Direction | None = None) -> None:
        if self.closed:
            return
        if action is Action.EOF and direction is not None:
            destination = self.destination(direction)
            self._eof_sent.add(direction)
            if len(self._eof_sent) == 2 or destination is None or not destination.can_write_eof():
                self.close()
            elif not destination.is_closing():
                destination.write_eof()
        elif action is Action.RESET:
            self.close(reset=True)
        else:
            self.close()

    def close(self, *, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for pipe in self.pipes.values():
            pipe.detach_all()
        for transport in (self.client, self.upstream):
            if transport is None or transport.is_closing():
                continue
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    # SO_LINGER 0 turns close() into an RST, as Toxiproxy's reset_peer does.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()
        self.proxy.connections.discard(self)


class _ClientSide(asyncio.Protocol):
    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.connection: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not an asyncio.Transport subclass, but is one in kind.
        transport = cast(asyncio.Transport, transport)
        _nodelay(transport)
        connection = Connection(self.proxy, transport)
        self.connection = connection
        self.proxy.connections.add(connection)
        task = self.proxy.loop.create_task(connection.dial())
        self.proxy.tasks.add(task)
        task.add_done_callback(self.proxy.tasks.discard)

    def data_received(self, data: bytes) -> None:
        if self.connection is not None:
            self.connection.receive(data)

    def eof_received(self) -> bool:
        if self.connection is not None:
            self.connection.receive(Action.EOF)
        return True  # keep the other half open until the EOF has passed the toxics

    def pause_writing(self) -> None:
        if self.connection is not None:
            self.connection.pause(Direction.DOWNSTREAM, "buffer", True)

    def resume_writing(self) -> None:
        if self.connection is not None:
            self.connection.pause(Direction.DOWNSTREAM, "buffer", False)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.connection is not None:
            self.connection.close()


class _UpstreamSide(asyncio.Protocol):
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's: see _ClientSide
        _nodelay(transport)
        self.transport = transport
        self.connection.upstream = transport

    def transport_close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.connection.pipes[Direction.DOWNSTREAM].feed(data)

    def eof_received(self) -> bool:
        self.connection.pipes[Direction.DOWNSTREAM].feed(Action.EOF)
        return True

    def pause_writing(self) -> None:
        self.connection.pause(Direction.UPSTREAM, "buffer", True)

    def resume_writing(self) -> None:
        self.connection.pause(Direction.UPSTREAM, "buffer", False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.close()


class TcpProxy(ProxyBase):
    """Toxiproxy's proxy: listen, and for each client one upstream connection."""

    server: asyncio.AbstractServer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def _listen(self) -> str:
        host, port = parse_listen("tcp", self.config.listen)
        try:
            self.server = await self.loop.create_server(
                lambda: _ClientSide(self), host or None, port, reuse_address=True
            )
        except OSError as error:
            raise bind_error("tcp", self.config.listen, error) from None
        bound = self.server.sockets[0].getsockname()
        return join_host_port(str(bound[0]), int(bound[1]))

    async def _close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
        for connection in list(self.connections):
            connection.close()
        for task in list(self.tasks):
            task.cancel()
        if server is not None:
            await server.wait_closed()

    def _toxic_added(self, runtime: Any) -> None:
        for connection in self.connections:
            connection.pipes[runtime.direction].attach(runtime)

    def _toxic_removed(self, runtime: Any, *, final: bool) -> None:
        for connection in list(self.connections):
            connection.pipes[runtime.direction].detach(runtime, final=final)
