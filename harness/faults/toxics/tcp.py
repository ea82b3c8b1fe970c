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

    TOXIPROXY: ClassVar[bool] = True
    CLOSES_ON_REMOVAL: ClassVar[bool] = False
    """Removing the toxic closes every connection it sat on (Toxiproxy's Cleanup)."""

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


class Noop(TcpToxic):
    """Pass everything unchanged (Toxiproxy's ``noop``)."""

    TYPE: ClassVar[str] = "noop"


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
    """Drop all data; close the connection when ``timeout`` ms pass without data (0 = never).

    As in Toxiproxy, every chunk that reaches the toxic restarts the timer, and removing
    the toxic closes the connections it sat on (what it dropped is gone; an open
    connection with a hole in its byte stream would be worse).
    """

    TYPE: ClassVar[str] = "timeout"
    ATTRIBUTES = (Attr("timeout", 0, "ms"),)
    CLOSES_ON_REMOVAL: ClassVar[bool] = True
    timeout: float

    def attach(self, link: LinkControl) -> State:
        state = State()
        if self.timeout > 0:
            state.handle = link.act_at(link.now() + self.timeout / 1000.0, Action.CLOSE)
        return state

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if isinstance(payload, Action):
            out.append((t, payload))
            return
        if self.timeout > 0:
            if state.handle is not None:
                link.cancel(state.handle)
            state.handle = link.act_at(t + self.timeout / 1000.0, Action.CLOSE)


class ResetPeer(TcpToxic):
    """On the first data (or the sender's FIN), wait ``timeout`` ms, then reset the
    connection (RST); what comes meanwhile is dropped, as in Toxiproxy."""

    TYPE: ClassVar[str] = "reset_peer"
    ATTRIBUTES = (Attr("timeout", 0, "ms"),)
    timeout: float

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        if payload is Action.CLOSE or payload is Action.RESET:
            out.append((t, payload))
            return
        if not state.flag:
            state.flag = True
            state.handle = link.act_at(t + self.timeout / 1000.0, Action.RESET)


class Slicer(TcpToxic):
    """Cut chunks into pieces around ``average_size`` bytes, ``delay`` µs apart.

    The cut points are Toxiproxy's ``chunk()``: halve a range until it is at most
    ``average_size + size_variation`` long, moving each midpoint by a uniform draw in
    ``[-size_variation, size_variation)``. So 1000 bytes at 100 give 16 pieces of 62
    or 63 bytes, not 10 of 100. The delay also follows the last piece, as there.
    """

    TYPE: ClassVar[str] = "slicer"
    ATTRIBUTES = (
        Attr("average_size", 0, "bytes", integer=True),
        Attr("size_variation", 0, "bytes", integer=True),
        Attr("delay", 0, "µs"),
    )
    average_size: int
    size_variation: int
    delay: float

    def cuts(self, start: int, end: int) -> list[int]:
        """Toxiproxy's chunk(start, end): a flat list of [from, to) pairs."""
        if (end - start) - self.average_size <= self.size_variation or end - start <= 1:
            # The length guard is ours: Toxiproxy recurses forever (and crashes) there.
            return [start, end]
        mid = start + (end - start) // 2
        if self.size_variation > 0:
            mid += self.rng.randrange(self.size_variation * 2) - self.size_variation
            mid = min(max(mid, start + 1), end - 1)  # Toxiproxy would slice out of range
        return self.cuts(start, mid) + self.cuts(mid, end)

    def process(
        self, state: State, link: LinkControl, t: float, payload: Payload, out: Items
    ) -> None:
        when = max(t, state.last)
        if isinstance(payload, Action):
            state.last = when
            out.append((when, payload))
            return
        step = max(self.delay, 0.0) / 1_000_000.0
        cuts = self.cuts(0, len(payload))
        for index in range(0, len(cuts), 2):
            out.append((when, payload[cuts[index] : cuts[index + 1]]))
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
    Noop,
    Latency,
    Bandwidth,
    SlowClose,
    Timeout,
    ResetPeer,
    Slicer,
    LimitData,
)
