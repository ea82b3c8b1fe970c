"""The fault vocabulary: one table of fault kinds, and the faults they build.

:data:`KINDS` is the only place a fault kind is defined: its builder, the links it
fits (UDP only, TCP only, any) and the call outcomes it can explain. The
``ullc_faults`` fixture, :class:`~harness.faults.client.Link`'s methods, schedules
and the chaos accounting all read it. A built :class:`Fault` is a context manager:
``with`` applies it on enter and removes it on exit; schedules call
:meth:`Fault.apply` / :meth:`Fault.remove` at set times. Every transition is
written to the client's :class:`~harness.faults.log.FaultLog`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.client.result import CallOutcome
from harness.errors import UsageError
from harness.faults.log import FaultAction, FaultLog
from harness.faults.model import AttributeValue, Backend, Protocol, Stream, split_ms
from harness.faults.process import ProcessControl

if TYPE_CHECKING:
    from harness.faults.client import Link
    from harness.target.model import ControlUrls

_ids = itertools.count(1)


class FaultKind(StrEnum):
    """Every kind of fault the harness applies (``FaultEvent.what`` of the log)."""

    LATENCY = "latency"
    RTT = "rtt"
    JITTER = "jitter"
    LOSS = "loss"
    BURSTY_LOSS = "bursty_loss"
    BANDWIDTH = "bandwidth"
    PARTITION = "partition"
    RESET = "reset"
    KILL = "kill"
    PAUSE = "pause"
    OUTAGE = "outage"
    LATENCY_MAP = "latency_map"


class PartitionMode(StrEnum):
    """``blackhole``: connections stay up, nothing passes (a real partition).
    ``disable``: the hop stops listening (connection refused, like Toxiproxy's ``down``)."""

    BLACKHOLE = "blackhole"
    DISABLE = "disable"


class Fault(ABC):
    """A switchable fault. ``what``/``where``/``params`` are what the log records."""

    def __init__(self, what: FaultKind, where: str, params: dict[str, Any], log: FaultLog | None):
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
        what: FaultKind,
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
        super().__init__(FaultKind.PARTITION, link.name, {"mode": "disable"}, link.client.log)
        self.link = link

    def _apply(self) -> None:
        self.link.disable()

    def _remove(self) -> None:
        self.link.enable()


class ProcessFault(Fault):
    """``pause`` (resumed on remove) or ``kill``.

    A kill is undone only by a restart: with ``restart`` its removal restarts the
    component and is logged once; without, removing it does nothing and logs nothing
    (the component stays dead, so its window stays open).
    """

    def __init__(
        self,
        control: ProcessControl,
        component: str,
        what: FaultKind,
        log: FaultLog | None,
        restart: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(what, component, {}, log)
        self.control = control
        self.restart = restart

    def _apply(self) -> None:
        if self.what is FaultKind.KILL:
            self.control.kill(self.where)
        else:
            self.control.pause(self.where)

    def remove(self) -> None:
        if self.what is FaultKind.KILL and self.restart is None:
            return
        super().remove()

    def _remove(self) -> None:
        if self.what is FaultKind.PAUSE:
            self.control.resume(self.where)
        elif self.restart is not None:
            self.restart(self.where)


def latency(
    link: Link, ms: float, *, jitter: float = 0, stream: Stream = Stream.DOWNSTREAM
) -> Fault:
    """One-way delay of ``ms`` ± ``jitter`` on ``stream`` (``Stream.BOTH``: each way)."""
    params = {"ms": ms, "jitter": jitter, "stream": stream.value}
    return ToxicFault(
        link, FaultKind.LATENCY, [("latency", stream, {"latency": ms, "jitter": jitter})], params
    )


def rtt(link: Link, ms: float, *, jitter: float = 0) -> Fault:
    """Add ``ms`` to the round trip: ``ms/2`` upstream and ``ms/2`` downstream."""
    up, down = split_ms(ms, link.backend is Backend.TOXIPROXY)
    toxics: list[ToxicSpec] = [
        ("latency", Stream.UPSTREAM, {"latency": up, "jitter": jitter / 2}),
        ("latency", Stream.DOWNSTREAM, {"latency": down, "jitter": jitter / 2}),
    ]
    return ToxicFault(link, FaultKind.RTT, toxics, {"ms": ms, "jitter": jitter})


def jitter(link: Link, ms: float, *, latency: float = 0, stream: Stream = Stream.BOTH) -> Fault:
    """Uniform ± ``ms`` delay variation (UDP datagrams may reorder).

    The mean delay is ``max(latency, ms)`` so that no draw is clamped at zero, which
    would bias the distribution.
    """
    params = {"ms": ms, "latency": latency, "stream": stream.value}
    toxic: ToxicSpec = ("latency", stream, {"latency": max(latency, ms), "jitter": ms})
    return ToxicFault(link, FaultKind.JITTER, [toxic], params)


def loss(
    link: Link, probability: float, *, stream: Stream = Stream.BOTH, toxicity: float = 1.0
) -> Fault:
    """Independent datagram loss with ``probability`` (UDP)."""
    KINDS[FaultKind.LOSS].check(link)
    params = {"probability": probability, "stream": stream.value}
    toxic: ToxicSpec = ("loss", stream, {"probability": probability})
    return ToxicFault(link, FaultKind.LOSS, [toxic], params, toxicity)


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
    KINDS[FaultKind.BURSTY_LOSS].check(link)
    attributes: dict[str, AttributeValue] = {
        "p": p,
        "r": r,
        "loss_bad": loss_bad,
        "loss_good": loss_good,
    }
    params: dict[str, Any] = {**attributes, "stream": stream.value}
    return ToxicFault(link, FaultKind.BURSTY_LOSS, [("loss_burst", stream, attributes)], params)


def bandwidth(link: Link, rate_kbps: float, *, stream: Stream = Stream.DOWNSTREAM) -> Fault:
    """Limit to ``rate_kbps`` KB/s (Toxiproxy's unit: 1000 bytes per second)."""
    params = {"rate": rate_kbps, "stream": stream.value}
    return ToxicFault(
        link, FaultKind.BANDWIDTH, [("bandwidth", stream, {"rate": rate_kbps})], params
    )


def partition(link: Link, *, mode: PartitionMode = PartitionMode.BLACKHOLE) -> Fault:
    """Cut the link both ways (see :class:`PartitionMode`)."""
    if mode is PartitionMode.DISABLE:
        return DisableFault(link)
    if link.protocol is Protocol.UDP:
        toxic: ToxicSpec = ("blackhole", Stream.BOTH, {})
    else:
        toxic = ("timeout", Stream.BOTH, {"timeout": 0})  # data dropped, never closed
    return ToxicFault(link, FaultKind.PARTITION, [toxic], {"mode": mode.value})


def reset(link: Link, *, timeout_ms: float = 0, stream: Stream = Stream.DOWNSTREAM) -> Fault:
    """TCP connections are reset (RST) ``timeout_ms`` after their next data."""
    KINDS[FaultKind.RESET].check(link)
    params = {"timeout_ms": timeout_ms, "stream": stream.value}
    return ToxicFault(
        link, FaultKind.RESET, [("reset_peer", stream, {"timeout": timeout_ms})], params
    )


def kill(
    control: ProcessControl,
    component: str,
    log: FaultLog | None = None,
    restart: Callable[[str], None] | None = None,
) -> Fault:
    """SIGKILL (or the backend's equivalent) a component; undone only by ``restart``."""
    return ProcessFault(control, component, FaultKind.KILL, log, restart)


class OutageFault(Fault):
    """A DC down through the target's control API (CTL-5), up again on removal."""

    def __init__(self, control: ControlUrls, dc: str, log: FaultLog | None) -> None:
        super().__init__(FaultKind.OUTAGE, dc, {"control": control.dcs.get(dc)}, log)
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
    return ProcessFault(control, component, FaultKind.PAUSE, log)


# -- the table ------------------------------------------------------------------------------
class Target(StrEnum):
    LINK = "link"  # a hop: built from a Link
    PROCESS = "process"  # a component: built from a ProcessControl
    MAP = "map"  # a routing component's latency map, through the control API
    CONTROL = "control"  # a DC, through the target's control API (CTL-5)


_TIMEOUTS = frozenset(
    {CallOutcome.MEDIA_TIMEOUT, CallOutcome.SIGNALING_TIMEOUT, CallOutcome.SIGNALING_ERROR}
)
_DELAY = _TIMEOUTS | {CallOutcome.DNS_FAILED}  # delay can push any step past its deadline
_CUT = _DELAY | {CallOutcome.GATEWAY_CLOSED}  # cuts and outages also drop the gateway link


@dataclass(frozen=True)
class KindSpec:
    """One fault kind. ``protocols``: the links it exists on. ``explains``: the call
    outcomes it may cause (PROTOCOL_ERROR and SOCKET_ERROR are in none: no fault
    excuses a message the protocol forbids). ``build`` is None for latency maps,
    which the fixture changes through the control API (``route_all``)."""

    kind: FaultKind
    target: Target
    build: Callable[..., Fault] | None
    explains: frozenset[CallOutcome]
    protocols: frozenset[Protocol] = frozenset(Protocol)
    why_not: str = ""

    def check(self, link: Link) -> None:
        """Refuse a link of the wrong protocol, saying what fits instead."""
        if link.protocol not in self.protocols:
            only = "/".join(sorted(p.value.upper() for p in self.protocols))
            raise UsageError(
                f"{self.kind} exists only on {only} links; {link.name!r} is "
                f"{link.protocol.value.upper()}",
                hint=self.why_not or None,
            )

    def on_link(self, link: Link, *args: Any, **params: Any) -> Fault:
        """Build this kind on ``link``; ``stream``/``mode`` may be given as strings (JSON)."""
        if self.target is not Target.LINK or self.build is None:
            raise UsageError(f"{self.kind} is not a link fault")
        self.check(link)
        if isinstance(params.get("stream"), str):
            params["stream"] = Stream(params["stream"])
        if isinstance(params.get("mode"), str):
            params["mode"] = PartitionMode(params["mode"])
        return self.build(link, *args, **params)

    def on_process(
        self,
        control: ProcessControl,
        component: str,
        log: FaultLog | None,
        restart: Callable[[str], None] | None = None,
    ) -> Fault:
        if self.kind is FaultKind.KILL:
            return kill(control, component, log, restart)
        if self.kind is FaultKind.PAUSE:
            return pause(control, component, log)
        raise UsageError(f"{self.kind} is not a process fault")


_TCP_ALTERNATIVES = "on TCP use latency, bandwidth, partition or reset (TCP retransmits losses)"
_UDP = frozenset({Protocol.UDP})
_TCP = frozenset({Protocol.TCP})

KINDS: Mapping[FaultKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(FaultKind.LATENCY, Target.LINK, latency, _DELAY),
        KindSpec(FaultKind.RTT, Target.LINK, rtt, _DELAY),
        KindSpec(FaultKind.JITTER, Target.LINK, jitter, _DELAY),
        KindSpec(FaultKind.BANDWIDTH, Target.LINK, bandwidth, _DELAY),
        # Loss exists on UDP links only: checks and DNS queries.
        KindSpec(
            FaultKind.LOSS,
            Target.LINK,
            loss,
            frozenset({CallOutcome.MEDIA_TIMEOUT, CallOutcome.DNS_FAILED}),
            _UDP,
            _TCP_ALTERNATIVES,
        ),
        KindSpec(
            FaultKind.BURSTY_LOSS,
            Target.LINK,
            bursty_loss,
            frozenset({CallOutcome.MEDIA_TIMEOUT, CallOutcome.DNS_FAILED}),
            _UDP,
            _TCP_ALTERNATIVES,
        ),
        KindSpec(FaultKind.PARTITION, Target.LINK, partition, _CUT),
        KindSpec(
            FaultKind.RESET,
            Target.LINK,
            reset,
            _TIMEOUTS | {CallOutcome.GATEWAY_CLOSED},
            _TCP,
            "UDP has no connection to reset; use partition or loss",
        ),
        KindSpec(FaultKind.PAUSE, Target.PROCESS, pause, _CUT),
        KindSpec(FaultKind.KILL, Target.PROCESS, kill, _CUT),
        # CTL-5: the DC stops answering; its clients see timeouts or a closed gateway.
        KindSpec(
            FaultKind.OUTAGE, Target.CONTROL, outage, _TIMEOUTS | {CallOutcome.GATEWAY_CLOSED}
        ),
        # A divergent map is repaired by fallback (FB-2); it explains only a slow DC.
        KindSpec(FaultKind.LATENCY_MAP, Target.MAP, None, _TIMEOUTS),
    )
}


def explains(what: str) -> frozenset[CallOutcome]:
    """Outcomes a logged fault (``FaultEvent.what``) can explain; none for unknown kinds."""
    try:
        return KINDS[FaultKind(what)].explains
    except ValueError:
        return frozenset()
