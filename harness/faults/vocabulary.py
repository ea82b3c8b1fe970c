"""The fault vocabulary of the suites: context managers on a named link or component.

Each function returns a :class:`Fault`: ``with`` applies it on enter and removes it
on exit; schedules call :meth:`Fault.apply` / :meth:`Fault.remove` at set times.
Every transition is written to the client's :class:`~harness.faults.log.FaultLog`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.errors import UsageError
from harness.faults.client import Backend, Link, split_ms
from harness.faults.log import FaultAction, FaultLog
from harness.faults.model import AttributeValue, Protocol, Stream
from harness.faults.process import ProcessControl

if TYPE_CHECKING:
    from harness.target.model import ControlUrls

_ids = itertools.count(1)


class PartitionMode(StrEnum):
    """``blackhole``: connections stay up, nothing passes (a real partition).
    ``disable``: the hop stops listening (connection refused, like Toxiproxy's ``down``)."""

    BLACKHOLE = "blackhole"
    DISABLE = "disable"


class Fault(ABC):
    """A switchable fault. ``what``/``where``/``params`` are what the log records."""

    def __init__(self, what: str, where: str, params: dict[str, Any], log: FaultLog | None):
        self.what = what
        self.where = where
        self.params = params
        self.log = log
        self.active = False

    @abstractmethod
    def _apply(self) -> None: ...

    @abstractmethod
    def _remove(self) -> None: ...

    def apply(self) -> None:
        if self.active:
            return
        self._apply()
        self.active = True
        if self.log is not None:
            self.log.record(self.what, self.where, FaultAction.APPLIED, self.params)

    def remove(self) -> None:
        if not self.active:
            return
        self._remove()
        self.active = False
        if self.log is not None:
            self.log.record(self.what, self.where, FaultAction.REMOVED, self.params)

    def __enter__(self) -> Fault:
        self.apply()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<{self.what} on {self.where} {self.params}>"


ToxicSpec = tuple[str, Stream, dict[str, AttributeValue]]


class ToxicFault(Fault):
    """A fault made of toxics on one link; names are unique so faults can overlap."""

    def __init__(
        self,
        link: Link,
        what: str,
        toxics: list[ToxicSpec],
        params: dict[str, Any],
        toxicity: float = 1.0,
    ) -> None:
        super().__init__(what, link.name, params, link.client.log)
        self.link = link
        self.toxics = toxics
        self.toxicity = toxicity
        self._names: list[str] = []

    def _apply(self) -> None:
        serial = next(_ids)
        try:
            for index, (kind, stream, attributes) in enumerate(self.toxics):
                name = f"ullc_{self.what}_{serial}_{index}"
                self.link.add_toxic(
                    kind, stream=stream, toxicity=self.toxicity, name=name, **attributes
                )
                self._names.append(name)
        except BaseException:
            self._remove()
            raise

    def _remove(self) -> None:
        # missing_ok: a /reset in between already removed them, which is fine.
        while self._names:
            self.link.remove_toxic(self._names.pop(), missing_ok=True)


class DisableFault(Fault):
    def __init__(self, link: Link) -> None:
        super().__init__("partition", link.name, {"mode": "disable"}, link.client.log)
        self.link = link

    def _apply(self) -> None:
        self.link.disable()

    def _remove(self) -> None:
        self.link.enable()


class ProcessFault(Fault):
    """``kill`` (not undone: the stack decides about restarts) or ``pause`` (resumed on exit)."""

    def __init__(
        self, control: ProcessControl, component: str, what: str, log: FaultLog | None
    ) -> None:
        super().__init__(what, component, {}, log)
        self.control = control

    def _apply(self) -> None:
        if self.what == "kill":
            self.control.kill(self.where)
        else:
            self.control.pause(self.where)

    def _remove(self) -> None:
        if self.what == "pause":
            self.control.resume(self.where)


def _udp_only(link: Link, what: str) -> None:
    if link.protocol is not Protocol.UDP:
        raise UsageError(
            f"{what} exists only on UDP links; {link.name!r} is TCP",
            hint="on TCP use latency, bandwidth, partition or reset (TCP retransmits losses)",
        )


def latency(
    link: Link, ms: float, *, jitter: float = 0, stream: Stream = Stream.DOWNSTREAM
) -> Fault:
    """One-way delay of ``ms`` ± ``jitter`` on ``stream`` (``Stream.BOTH``: each way)."""
    params = {"ms": ms, "jitter": jitter, "stream": stream.value}
    return ToxicFault(
        link, "latency", [("latency", stream, {"latency": ms, "jitter": jitter})], params
    )


def rtt(link: Link, ms: float, *, jitter: float = 0) -> Fault:
    """Add ``ms`` to the round trip: ``ms/2`` upstream and ``ms/2`` downstream."""
    up, down = split_ms(ms, link.backend is Backend.TOXIPROXY)
    toxics: list[ToxicSpec] = [
        ("latency", Stream.UPSTREAM, {"latency": up, "jitter": jitter / 2}),
        ("latency", Stream.DOWNSTREAM, {"latency": down, "jitter": jitter / 2}),
    ]
    return ToxicFault(link, "rtt", toxics, {"ms": ms, "jitter": jitter})


def jitter(link: Link, ms: float, *, latency: float = 0, stream: Stream = Stream.BOTH) -> Fault:
    """Uniform ± ``ms`` delay variation (UDP datagrams may reorder).

    The mean delay is ``max(latency, ms)`` so that no draw is clamped at zero, which
    would bias the distribution.
    """
    params = {"ms": ms, "latency": latency, "stream": stream.value}
    toxic: ToxicSpec = ("latency", stream, {"latency": max(latency, ms), "jitter": ms})
    return ToxicFault(link, "jitter", [toxic], params)


def loss(
    link: Link, probability: float, *, stream: Stream = Stream.BOTH, toxicity: float = 1.0
) -> Fault:
    """Independent datagram loss with ``probability`` (UDP)."""
    _udp_only(link, "loss")
    params = {"probability": probability, "stream": stream.value}
    toxic: ToxicSpec = ("loss", stream, {"probability": probability})
    return ToxicFault(link, "loss", [toxic], params, toxicity)


def bursty_loss(
    link: Link,
    p: float,
    r: float,
    *,
    loss_bad: float = 1.0,
    loss_good: float = 0.0,
    stream: Stream = Stream.BOTH,
) -> Fault:
    """Gilbert-Elliott loss: good->bad with ``p``, bad->good with ``r`` (mean burst 1/r)."""
    _udp_only(link, "bursty_loss")
    attributes: dict[str, AttributeValue] = {
        "p": p,
        "r": r,
        "loss_bad": loss_bad,
        "loss_good": loss_good,
    }
    params: dict[str, Any] = {**attributes, "stream": stream.value}
    return ToxicFault(link, "bursty_loss", [("loss_burst", stream, attributes)], params)


def bandwidth(link: Link, rate_kbps: float, *, stream: Stream = Stream.DOWNSTREAM) -> Fault:
    """Limit to ``rate_kbps`` KB/s (Toxiproxy's unit: 1000 bytes per second)."""
    params = {"rate": rate_kbps, "stream": stream.value}
    return ToxicFault(link, "bandwidth", [("bandwidth", stream, {"rate": rate_kbps})], params)


def partition(link: Link, *, mode: PartitionMode = PartitionMode.BLACKHOLE) -> Fault:
    """Cut the link both ways (see :class:`PartitionMode`)."""
    if mode is PartitionMode.DISABLE:
        return DisableFault(link)
    if link.protocol is Protocol.UDP:
        toxic: ToxicSpec = ("blackhole", Stream.BOTH, {})
    else:
        toxic = ("timeout", Stream.BOTH, {"timeout": 0})  # data dropped, never closed
    return ToxicFault(link, "partition", [toxic], {"mode": mode.value})


def reset(link: Link, *, timeout_ms: float = 0, stream: Stream = Stream.DOWNSTREAM) -> Fault:
    """TCP connections are reset (RST) ``timeout_ms`` after their next data."""
    if link.protocol is not Protocol.TCP:
        raise UsageError(f"reset exists only on TCP links; {link.name!r} is UDP")
    params = {"timeout_ms": timeout_ms, "stream": stream.value}
    return ToxicFault(link, "reset", [("reset_peer", stream, {"timeout": timeout_ms})], params)


def kill(control: ProcessControl, component: str, log: FaultLog | None = None) -> Fault:
    """SIGKILL (or the backend's equivalent) a component; not undone on exit."""
    return ProcessFault(control, component, "kill", log)


class OutageFault(Fault):
    """A DC down through the target's control API (CTL-5), up again on removal."""

    def __init__(self, control: ControlUrls, dc: str, log: FaultLog | None) -> None:
        super().__init__("outage", dc, {"control": control.dcs.get(dc)}, log)
        self.control = control

    def _apply(self) -> None:
        from harness.fixtures.control import set_outage

        set_outage(self.control, self.where, "down")

    def _remove(self) -> None:
        from harness.fixtures.control import set_outage

        set_outage(self.control, self.where, "up")


def outage(control: ControlUrls, dc: str, log: FaultLog | None = None) -> Fault:
    """CTL-5: ``dc`` stops answering (no response, datagrams dropped) inside the ``with``,
    through ``POST /control/outage`` at ``[control].dcs.<dc>``."""
    return OutageFault(control, dc, log)


def pause(control: ProcessControl, component: str, log: FaultLog | None = None) -> Fault:
    """Freeze a component (SIGSTOP / docker pause) while inside the ``with``."""
    return ProcessFault(control, component, "pause", log)
