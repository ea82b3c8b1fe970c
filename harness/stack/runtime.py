"""What a component process gets from its supervisor, and the small I/O helpers they share."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stack.atomic import write_atomically
from harness.stack.defects import Defect
from harness.stack.plan import Address, Component, Plan


@dataclass
class ComponentContext:
    """A component's view of its stack: the plan, its own name, its run directory."""

    plan: Plan
    component: Component
    run_dir: Path
    defects: frozenset[Defect] = frozenset()
    """Bugs planted on purpose (harness self-test, harness/stack/defects.py); empty normally."""
    log: logging.Logger = field(init=False)
    stop: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        self.log = logging.getLogger(self.component.name)
        self.stop = asyncio.Event()

    @property
    def name(self) -> str:
        return self.component.name

    def ready(self) -> None:
        """Tell the runner this component is bound and serving (a marker file, atomic)."""
        write_atomically(self.run_dir / "ready" / self.name, str(os.getpid()))
        # CPU so far: what a start costs this component (the docker stack's budget is CPU).
        self.log.info("ready (pid %d, %.3f CPU-s)", os.getpid(), time.process_time())


EVENT_LOOP_ENV = "ULLC_EVENT_LOOP"
"""``uvloop`` (the default when installed) or ``asyncio``: the components' event loop."""
HOP_EVENT_LOOP_ENV = "ULLC_HOP_EVENT_LOOP"
"""The hop server's event loop when it should differ from :data:`EVENT_LOOP_ENV`'s."""


def loop_factory(variable: str = EVENT_LOOP_ENV) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed and not switched off, else None (asyncio's).

    Why: every component is an event loop that mostly moves small messages, and
    uvloop's transports and loop cost about half of asyncio's per message, which
    is what a burst of calls on two cores runs out of. The stack runs the same
    without it (``ULLC_EVENT_LOOP=asyncio``, or uvloop not installed). ``variable``
    names a more specific switch that wins when set (:data:`HOP_EVENT_LOOP_ENV`).
    """
    choice = os.environ.get(variable) or os.environ.get(EVENT_LOOP_ENV, "uvloop")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_loop(main: Coroutine[Any, Any, None], variable: str = EVENT_LOOP_ENV) -> None:
    """``asyncio.run(main)`` on the loop of :func:`loop_factory`."""
    with asyncio.Runner(loop_factory=loop_factory(variable)) as runner:
        runner.run(main)


def log_to_stderr() -> None:
    """A component's log format (its stderr is its log file under either backend)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )


def run_component(ctx: ComponentContext) -> int:
    """Run the module of ``ctx``'s role (not the hop's, not Redis) until SIGTERM stops it."""
    from harness.stack.components import COMPONENT_MODULES

    module = importlib.import_module(COMPONENT_MODULES[ctx.component.role])

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, ctx.stop.set)
        await module.run(ctx)

    run_loop(main())
    return 0


def run_hop_server(ctx: ComponentContext, seed: int, *, allow_remote_listen: bool = False) -> int:
    """Serve the stack's fault hop (the links of ``hops.json``) until stopped; both backends.

    On uvloop too: the hop carries every datagram of every call through Python, and its
    timer heap sleeps the last millisecond itself, so uvloop's millisecond timers do not
    blur the links' latencies (scheduler.py).
    """
    from harness.faults.api.server import ServerOptions, serve

    host, port = ctx.plan.hop_api
    options = ServerOptions(
        host=host, port=port, seed=seed, config=ctx.run_dir / "hops.json",
        allow_remote_listen=allow_remote_listen,
    )  # fmt: skip

    def ready(info: dict[str, Any]) -> None:
        ctx.log.info("hop server %s", info)
        ctx.ready()

    run_loop(serve(options, ready), HOP_EVENT_LOOP_ENV)
    return 0


def bind_udp(address: Address) -> socket.socket:
    """A non-blocking UDP socket bound to ``address`` (raises OSError if taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(address)
    sock.setblocking(False)
    return sock


class UdpEndpoint:
    """A UDP socket read through ``loop.add_reader``: synchronous send, callback per datagram.

    Relays create one per flow on the packet path, so creation must not need an
    ``await`` (a coroutine per new flow would reorder the flow's first datagrams).
    """

    def __init__(
        self,
        sock: socket.socket,
        on_datagram: Callable[[bytes, Address], None],
        log: logging.Logger,
    ) -> None:
        self.sock = sock
        self._on_datagram = on_datagram
        self._log = log
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        self.closed = False

    @property
    def address(self) -> Address:
        host, port = self.sock.getsockname()[:2]
        return (str(host), int(port))

    def _readable(self) -> None:
        # Drain what is queued; bounded so one busy socket cannot starve the loop.
        for _ in range(256):
            try:
                data, source = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # ICMP port unreachable from a previous send surfaces here on Linux.
                self._log.debug("recv on %s: %s", self.address, error)
                continue
            try:
                self._on_datagram(data, (source[0], source[1]))
            except Exception:
                self._log.exception("datagram handler failed")

    def sendto(self, data: bytes, address: Address) -> None:
        try:
            self.sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            self._log.debug("send buffer full, dropped a datagram to %s", address)
        except OSError as error:
            self._log.debug("send to %s: %s", address, error)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()


def format_address(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


def parse_address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))
