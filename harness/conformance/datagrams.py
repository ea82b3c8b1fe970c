"""Send datagrams to one address and collect every answer until a quiet deadline.

The STUN rules make *silence* a verdict (STUN-40..44: discard without a word), so a
probe must listen long enough for any answer the world could still deliver:
``linger_s`` after the last send, chosen by the caller from the world's round
trip plus the ingress hold (RACE-3). Every answer is kept with its source and its
arrival time, so retransmissions (STUN-49) and stray answers are visible.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.conformance.errors import ProbeSetupError

Address = tuple[str, int]


@dataclass(frozen=True)
class Answer:
    """One datagram that came back."""

    data: bytes
    source: Address
    t_ms: float
    """Arrival, in ms after the first send."""


@dataclass(frozen=True)
class Exchange:
    """What was sent from where, and everything that came back."""

    destination: Address
    local: Address
    """The probe socket's address: what a responder that sees us directly reports."""
    sent: tuple[bytes, ...]
    answers: tuple[Answer, ...]

    @property
    def silent(self) -> bool:
        return not self.answers

    def answers_to(self, transaction_id: bytes) -> list[Answer]:
        """Answers whose header carries ``transaction_id`` (bytes 8..20 of a STUN header)."""
        return [a for a in self.answers if a.data[8:20] == transaction_id]


async def exchange(
    destination: Address,
    datagrams: Sequence[bytes],
    *,
    bind_ip: str | None = None,
    pacing_s: float = 0.05,
    linger_s: float = 0.6,
) -> Exchange:
    """Send ``datagrams`` to ``destination`` ``pacing_s`` apart from one socket; collect
    answers until ``linger_s`` after the last send."""
    if not datagrams:
        raise ProbeSetupError("exchange() needs at least one datagram to send")
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in destination[0] else socket.AF_INET
    bind = bind_ip or ("::1" if family == socket.AF_INET6 else "127.0.0.1")
    answers: list[Answer] = []
    started = time.monotonic()

    class Collector(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, source: tuple[Any, ...]) -> None:
            answers.append(Answer(data, (source[0], source[1]), (time.monotonic() - started) * 1e3))

    try:
        transport, _ = await loop.create_datagram_endpoint(
            Collector, local_addr=(bind, 0), family=family
        )
    except OSError as error:
        raise ProbeSetupError(
            f"cannot bind a UDP probe socket on {bind}: {error}",
            hint="check [client].bind_ip in the target file (an address of this machine)",
        ) from error
    try:
        sockname = transport.get_extra_info("sockname")
        local = (str(sockname[0]), int(sockname[1]))
        started = time.monotonic()
        for index, datagram in enumerate(datagrams):
            if index:
                await asyncio.sleep(pacing_s)
            transport.sendto(datagram, destination)
        await asyncio.sleep(linger_s)
    finally:
        transport.close()
    return Exchange(destination, local, tuple(datagrams), tuple(answers))


def exchange_sync(
    destination: Address,
    datagrams: Sequence[bytes],
    *,
    bind_ip: str | None = None,
    pacing_s: float = 0.05,
    linger_s: float = 0.6,
) -> Exchange:
    """:func:`exchange` for synchronous callers (not inside a running event loop)."""
    return asyncio.run(
        exchange(destination, datagrams, bind_ip=bind_ip, pacing_s=pacing_s, linger_s=linger_s)
    )
