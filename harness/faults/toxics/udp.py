"""UDP toxics: Toxiproxy's vocabulary carried over to datagrams, plus loss models.

Unlike TCP, datagrams may overtake each other (latency jitter, reorder), as on a
real network path. State is per flow (one client address), toxicity is drawn per flow.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.faults.toxics.base import Attr, Datagrams, State, ToxicBase


class UdpToxic(ToxicBase):
    """Base: ``process`` maps one datagram at ``t`` to zero or more timed datagrams."""

    fixed_delay_s: float | None = None
    """Set when ``process`` does nothing but delay each datagram by this many seconds
    (no drop, no copy, no random draw): the hop then skips the generic chain for it."""

    def attach(self) -> State:
        return State()

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        out.append((t, data))


class Noop(UdpToxic):
    """Pass everything unchanged (Toxiproxy's ``noop``)."""

    TYPE: ClassVar[str] = "noop"
    TOXIPROXY: ClassVar[bool] = True


class Latency(UdpToxic):
    """Delay each datagram by ``latency`` ± ``jitter`` ms (uniform, may reorder like netem)."""

    TYPE: ClassVar[str] = "latency"
    TOXIPROXY: ClassVar[bool] = True
    ATTRIBUTES = (Attr("latency", 0, "ms"), Attr("jitter", 0, "ms"))
    latency: float
    jitter: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.jitter > 0:
            # process() below draws nothing then: the same delay for every datagram.
            self.fixed_delay_s = max(self.latency, 0.0) / 1000.0

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        delay = self.latency
        if self.jitter > 0:
            delay += self.rng.uniform(-self.jitter, self.jitter)
        out.append((t + max(delay, 0.0) / 1000.0, data))


class Loss(UdpToxic):
    """Drop each datagram independently with ``probability``."""

    TYPE: ClassVar[str] = "loss"
    ATTRIBUTES = (Attr("probability", 0.0, "0..1", maximum=1.0),)
    probability: float

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        if self.rng.random() >= self.probability:
            out.append((t, data))


class LossBurst(UdpToxic):
    """Gilbert-Elliott bursty loss: a good and a bad state, per flow.

    Per datagram: lose it with ``loss_good`` or ``loss_bad`` depending on the state,
    then move good->bad with ``p`` or bad->good with ``r``. With ``loss_bad`` = 1 and
    ``loss_good`` = 0 the mean burst is 1/r datagrams and the mean loss p/(p+r).
    """

    TYPE: ClassVar[str] = "loss_burst"
    ATTRIBUTES = (
        Attr("p", 0.0, "0..1", maximum=1.0),
        Attr("r", 1.0, "0..1", maximum=1.0),
        Attr("loss_bad", 1.0, "0..1", maximum=1.0),
        Attr("loss_good", 0.0, "0..1", maximum=1.0),
    )
    p: float
    r: float
    loss_bad: float
    loss_good: float

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        rng = self.rng
        bad = state.flag
        if rng.random() >= (self.loss_bad if bad else self.loss_good):
            out.append((t, data))
        state.flag = (rng.random() >= self.r) if bad else (rng.random() < self.p)


class Duplicate(UdpToxic):
    """Send a second copy of a datagram with ``probability``."""

    TYPE: ClassVar[str] = "duplicate"
    ATTRIBUTES = (Attr("probability", 0.0, "0..1", maximum=1.0),)
    probability: float

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        out.append((t, data))
        if self.rng.random() < self.probability:
            out.append((t, data))


class Reorder(UdpToxic):
    """Hold a datagram back by ``delay`` ms with ``probability``, so later ones overtake it."""

    TYPE: ClassVar[str] = "reorder"
    ATTRIBUTES = (
        Attr("probability", 0.0, "0..1", maximum=1.0),
        Attr("delay", 10, "ms"),
    )
    probability: float
    delay: float

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        if self.rng.random() < self.probability:
            t += self.delay / 1000.0
        out.append((t, data))


class Bandwidth(UdpToxic):
    """Serialise at ``rate`` KB/s (0 = unlimited); tail-drop beyond ``queue`` ms of backlog."""

    TYPE: ClassVar[str] = "bandwidth"
    TOXIPROXY: ClassVar[bool] = True
    ATTRIBUTES = (Attr("rate", 0, "KB/s"), Attr("queue", 1000, "ms"))
    rate: float
    queue: float

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        if self.rate <= 0:
            out.append((t, data))
            return
        start = max(t, state.last)
        if start - t > self.queue / 1000.0:
            return
        state.last = start + len(data) / (self.rate * 1000.0)
        out.append((state.last, data))


class Blackhole(UdpToxic):
    """Drop everything."""

    TYPE: ClassVar[str] = "blackhole"

    def process(self, state: State, t: float, data: bytes, out: Datagrams) -> None:
        return


UDP_TOXICS: tuple[type[UdpToxic], ...] = (
    Noop,
    Latency,
    Loss,
    LossBurst,
    Duplicate,
    Reorder,
    Bandwidth,
    Blackhole,
)
