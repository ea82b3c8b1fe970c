"""TCP toxics with Toxiproxy's names, attributes and semantics (README "Toxics").

Every toxic keeps the stream in order: an output time is never earlier than the
previous one on the same connection direction (``State.last``).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from harness.faults.toxics.base import Action, Attr, Items, Payload, State, ToxicBase


class LinkControl(Protocol):
    """What a TCP toxic may ask of the connection it sits on."""

    def now(self) -> float: ...

    def act_at(self, when: float, action: Action) -> object:
        """Run ``action`` on the connection at ``when``; returns a handle for :meth:`cancel`."""
        ...

    def cancel(self, handle: object) -> None: ...


class TcpToxic(ToxicBase):
    """Base: ``attach`` once per connection, ``process`` per chunk, ``detach`` on removal."""

    def attach(self, link: LinkControl) -> State:
        return State()

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        out.append((t, payload))

    def detach(self, state: State, link: LinkControl) -> None:
        if state.handle is not None:
            link.cancel(state.handle)
            state.handle = None


class Latency(TcpToxic):
    """Delay every chunk by ``latency`` ± ``jitter`` ms (uniform), keeping stream order."""

    TYPE: ClassVar[str] = "latency"
    ATTRIBUTES = (Attr("latency", 0, "ms"), Attr("jitter", 0, "ms"))
    latency: float
    jitter: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        delay = self.latency
        if self.jitter > 0:
            delay += self.rng.uniform(-self.jitter, self.jitter)
        when = max(t + max(delay, 0.0) / 1000.0, state.last)
        state.last = when
        out.append((when, payload))


class Bandwidth(TcpToxic):
    """Limit to ``rate`` KB/s (1 KB = 1000 bytes as in Toxiproxy); 0 means unlimited.

    Large chunks leave in 100 ms slices like Toxiproxy's, so a reader sees steady progress.
    """

    TYPE: ClassVar[str] = "bandwidth"
    ATTRIBUTES = (Attr("rate", 0, "KB/s"),)
    rate: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        start = max(t, state.last)
        if isinstance(payload, Action) or self.rate <= 0:
            state.last = start
            out.append((start, payload))
            return
        bytes_per_second = self.rate * 1000.0
        slice_size = max(1, int(self.rate * 100))
        when = start
        for offset in range(0, len(payload), slice_size):
            piece = payload[offset : offset + slice_size]
            when += len(piece) / bytes_per_second
            out.append((when, piece))
        state.last = when


class SlowClose(TcpToxic):
    """Delay the close (FIN or close) by ``delay`` ms; data passes untouched."""

    TYPE: ClassVar[str] = "slow_close"
    ATTRIBUTES = (Attr("delay", 0, "ms"),)
    delay: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if isinstance(payload, Action):
            t += self.delay / 1000.0
        out.append((t, payload))


class Timeout(TcpToxic):
    """Drop all data; close the connection ``timeout`` ms after the toxic met it (0 = never)."""

    TYPE: ClassVar[str] = "timeout"
    ATTRIBUTES = (Attr("timeout", 0, "ms"),)
    timeout: float

    def attach(self, link: LinkControl) -> State:
        state = State()
        if self.timeout > 0:
            state.handle = link.act_at(link.now() + self.timeout / 1000.0, Action.CLOSE)
        return state

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if payload is Action.EOF or payload is Action.CLOSE or payload is Action.RESET:
            out.append((t, payload))


class ResetPeer(TcpToxic):
    """On the first data, wait ``timeout`` ms, then reset the connection (RST); data is dropped."""

    TYPE: ClassVar[str] = "reset_peer"
    ATTRIBUTES = (Attr("timeout", 0, "ms"),)
    timeout: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if isinstance(payload, Action):
            out.append((t, payload))
            return
        if not state.flag:
            state.flag = True
            state.handle = link.act_at(t + self.timeout / 1000.0, Action.RESET)


class Slicer(TcpToxic):
    """Cut chunks into pieces of ``average_size`` ± ``size_variation`` bytes, ``delay`` µs apart."""

    TYPE: ClassVar[str] = "slicer"
    ATTRIBUTES = (
        Attr("average_size", 1, "bytes", minimum=1, integer=True),
        Attr("size_variation", 0, "bytes", integer=True),
        Attr("delay", 0, "µs"),
    )
    average_size: int
    size_variation: int
    delay: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        when = max(t, state.last)
        if isinstance(payload, Action):
            state.last = when
            out.append((when, payload))
            return
        offset = 0
        step = self.delay / 1_000_000.0
        variation = min(self.size_variation, self.average_size - 1)
        while offset < len(payload):
            size = self.average_size
            if variation > 0:
                size += self.rng.randint(-variation, variation)
            out.append((when, payload[offset : offset + size]))
            offset += size
            if offset < len(payload):
                when += step
        state.last = when


class LimitData(TcpToxic):
    """Pass ``bytes`` bytes, then close the connection (Toxiproxy's limit_data)."""

    TYPE: ClassVar[str] = "limit_data"
    ATTRIBUTES = (Attr("bytes", 0, "bytes", integer=True),)
    bytes: int

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if state.flag:
            return
        if isinstance(payload, Action):
            out.append((t, payload))
            return
        room = self.bytes - state.count
        if len(payload) < room:
            state.count += len(payload)
            out.append((t, payload))
            return
        state.flag = True
        if room > 0:
            out.append((t, payload[:room]))
        out.append((t, Action.CLOSE))


TCP_TOXICS: tuple[type[TcpToxic], ...] = (
    Latency,
    Bandwidth,
    SlowClose,
    Timeout,
    ResetPeer,
    Slicer,
    LimitData,
)
