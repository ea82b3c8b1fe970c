"""UDP proxy: one flow (one upstream socket) per client address, toxics per direction.

Sockets are plain non-blocking sockets watched with ``loop.add_reader`` rather than
``create_datagram_endpoint``: a flow must exist *synchronously* when its first
datagram arrives (an await would delay or reorder it), and one readiness callback
drains a whole burst with ``recvfrom`` in a loop instead of one datagram per wake-up.
Send errors (full buffer, ICMP unreachable) drop the datagram, as the network would.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from harness.faults import errors
from harness.faults.engine.addresses import parse_listen
from harness.faults.engine.flow_table import FdBudget, FlowTable
from harness.faults.engine.proxy_base import ProxyBase, bind_error
from harness.faults.model import Direction, join_host_port, split_host_port
from harness.faults.proxy_protocol import encode_v2
from harness.faults.toxics.base import INACTIVE, Datagrams, State
from harness.faults.toxics.udp import UdpToxic

_BATCH = 128  # datagrams read per readiness callback before other sockets get a turn
_MAX_DATAGRAM = 65535
_BUFFER = 1 << 21  # socket buffers large enough for bursts of STUN checks


def _socket(family: int, *, large: bool = True) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    if not large:
        # A flow socket carries one client: default buffers do, and under a flood of
        # new sources every syscall saved here is a flow more per second.
        return sock
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, _BUFFER)
        except OSError:  # capped by the kernel; the default still works
            pass
    return sock


class Flow:
    """One client address: its upstream socket, per-toxic state, counters."""

    def __init__(self, proxy: UdpProxy, client: tuple[Any, ...]) -> None:
        self.proxy = proxy
        self.client = client
        self.closed = False
        self.sock = _socket(proxy.upstream_family, large=False)
        if proxy.upstream_family == socket.AF_INET and proxy.listen_host not in ("", "0.0.0.0"):
            # Send from the hop's own listen address (not the kernel's 127.0.0.1, nor a docker
            # hop container's primary address), so a receiver can tell its hop from any
            # other sender (PROXY v2 trust).
            self.sock.bind((proxy.listen_host, 0))
        self.sock.connect(proxy.upstream_address)
        self.last_seen = time.monotonic()
        self.states: dict[Direction, dict[UdpToxic, Any]] = {d: {} for d in Direction}
        self.counts = {d: 0 for d in Direction}
        self.answered = False  # got a datagram back: a real peer, kept longer under a flood
        self.header = b""
        if proxy.config.proxy_protocol is not None:
            # The address the client reached is the proxy's listen address.
            self.header = encode_v2(
                (str(client[0]), int(client[1])), (proxy.listen_host, proxy.listen_port)
            )
        proxy.loop.add_reader(self.sock.fileno(), self._readable)

    def send_up(self, data: bytes) -> None:
        if self.closed:
            return
        if self.header:
            data = self.header + data
        try:
            self.sock.send(data)
        except OSError:
            return
        if self.proxy.capture:
            self.proxy.capture.add(
                Direction.UPSTREAM, "out", self.client, self.proxy.upstream_address, data
            )

    def send_down(self, data: bytes) -> None:
        proxy = self.proxy
        if self.closed or proxy.sock is None:
            return
        try:
            proxy.sock.sendto(data, self.client)
        except OSError:
            return
        if proxy.capture:
            proxy.capture.add(
                Direction.DOWNSTREAM, "out", proxy.upstream_address, self.client, data
            )

    def _readable(self) -> None:
        proxy = self.proxy
        chain = proxy.chains[Direction.DOWNSTREAM]
        recv = self.sock.recv
        if not self.closed:
            self.answered = True
            proxy.table.touch(self.client)
        for _ in range(_BATCH):
            try:
                data = recv(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP error from a previous send; keep the flow
                continue
            now = time.monotonic()
            self.last_seen = now
            self.counts[Direction.DOWNSTREAM] += 1
            if proxy.capture:
                proxy.capture.add(
                    Direction.DOWNSTREAM, "in", proxy.upstream_address, self.client, data
                )
            if chain:
                proxy.run_chain(chain, self.states[Direction.DOWNSTREAM], now, data, self.send_down)
            else:
                self.send_down(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.proxy.loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def to_json(self, now: float) -> dict[str, Any]:
        local = self.sock.getsockname() if not self.closed else ("0.0.0.0", 0)
        return {
            "client": join_host_port(str(self.client[0]), int(self.client[1])),
            "local": join_host_port(str(local[0]), int(local[1])),
            "idle": round(now - self.last_seen, 3),
            "upstream_datagrams": self.counts[Direction.UPSTREAM],
            "downstream_datagrams": self.counts[Direction.DOWNSTREAM],
        }


class UdpProxy(ProxyBase):
    """The UDP hop (our extension to the Toxiproxy model)."""

    sock: socket.socket | None = None

    def __init__(self, *args: Any, budget: FdBudget | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = FlowTable(self.config.name, self.config.max_flows, budget or FdBudget())
        self.flows = self.table.flows
        self.upstream_address: tuple[Any, ...] = ("0.0.0.0", 0)
        self.upstream_family = socket.AF_INET
        self.listen_host = "0.0.0.0"
        self.listen_port = 0
        self._sweeper: Any = None

    async def _listen(self) -> str:
        listen = self.config.listen
        host, port = parse_listen("udp", listen)
        try:
            up_host, up_port = split_host_port(self.config.upstream)
        except ValueError as error:
            raise errors.ApiError(f"upstream: {error}", 500) from None
        try:
            # Resolved once: a flow must be created without awaiting a lookup.
            info = socket.getaddrinfo(up_host, up_port, type=socket.SOCK_DGRAM)
        except OSError as error:
            raise errors.ApiError(f"lookup {up_host}: {error.strerror or error}", 500) from None
        self.upstream_family, _, _, _, self.upstream_address = info[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = _socket(family)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            raise bind_error("udp", listen, error) from None
        self.sock = sock
        bound = sock.getsockname()
        self.listen_host, self.listen_port = str(bound[0]), int(bound[1])
        self.loop.add_reader(sock.fileno(), self._readable)
        self.table.max_flows = self.config.max_flows
        self._sweeper = self.loop.call_later(self._sweep_interval(), self._sweep)
        return join_host_port(self.listen_host, self.listen_port)

    async def _close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.table.clear()
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _sweep_interval(self) -> float:
        return min(max(self.config.flow_idle_timeout / 4, 0.05), 5.0)

    def _sweep(self) -> None:
        now = time.monotonic()
        limit = self.config.flow_idle_timeout
        for client, flow in list(self.flows.items()):
            if now - flow.last_seen > limit:
                self.table.pop(client)
        self.table.flush_report(now)
        self._sweeper = self.loop.call_later(self._sweep_interval(), self._sweep)

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        chain = self.chains[Direction.UPSTREAM]
        flows = self.flows
        recvfrom = sock.recvfrom
        for _ in range(_BATCH):
            try:
                data, client = recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            now = time.monotonic()
            flow = flows.get(client)
            if flow is None:
                if not self.table.room():
                    continue
                try:
                    flow = Flow(self, client)
                except OSError:  # out of sockets anyway: drop, as a full NAT table would
                    continue
                self.table.add(client, flow)
            else:
                flows.move_to_end(client)
            flow.last_seen = now
            flow.counts[Direction.UPSTREAM] += 1
            if self.capture:
                self.capture.add(Direction.UPSTREAM, "in", client, self.upstream_address, data)
            if chain:
                self.run_chain(chain, flow.states[Direction.UPSTREAM], now, data, flow.send_up)
            else:
                flow.send_up(data)

    def run_chain(
        self,
        chain: list[UdpToxic],
        states: dict[UdpToxic, Any],
        now: float,
        data: bytes,
        send: Any,
    ) -> None:
        delay = chain[0].fixed_delay_s if len(chain) == 1 else None
        if delay is not None:
            # The common case, a link's latency alone (every link of the reference
            # stack): the generic path below, without its lists, per datagram.
            toxic = chain[0]
            state = states.get(toxic)
            if state is None:
                state = states[toxic] = toxic.attach() if toxic.applies() else INACTIVE
            when = now if state is INACTIVE else now + delay
            if when <= now:
                send(data)
            else:
                self.timers.push(when, send, data)
            return
        items: Datagrams = [(now, data)]
        for toxic in chain:
            state = states.get(toxic)
            if state is None:
                state = states[toxic] = toxic.attach() if toxic.applies() else INACTIVE
            if state is INACTIVE:
                continue
            assert isinstance(state, State)
            out: Datagrams = []
            process = toxic.process
            for when, item in items:
                process(state, when, item, out)
            items = out
            if not items:
                return
        for when, item in items:
            if when <= now:
                send(item)
            else:
                self.timers.push(when, send, item)

    def _toxic_removed(self, runtime: Any, *, final: bool) -> None:
        for flow in self.flows.values():
            flow.states[runtime.direction].pop(runtime, None)

    def flows_json(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [flow.to_json(now) for flow in self.flows.values()]
