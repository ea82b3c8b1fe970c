"""ULLC vs the sequential baseline on the default world (DESIGN section 9).

Targets: p50(ULLC) / p50(sequential) <= 0.52 (the saved round trip) and
efficiency = emulated client-DC RTT / p50(ULLC) >= 0.95 (near the physical floor).
The RTT is the world's own (TOPO-4, ``Topology.client_dc_rtt_ms``), never a constant.

Both modes run on one client (one gateway connection) in alternating batches,
one call at a time: on a shared machine a load spike then hits both series
alike, and a latency benchmark must not queue calls behind each other. The
client reuses its DNS answer while the TTL lasts (SIG-5), as a real one does; a
third, unjudged series asks DNS on every call, so the cost of a lookup on the
critical path is measured side by side rather than guessed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.bench import BenchOptions
from harness.bench.common import (
    Goal,
    Judged,
    Latency,
    LoadMeter,
    MachineLoad,
    Row,
    judged_json,
    ms_text,
    number_text,
    progress,
)
from harness.client import CallResult, EventKind, UllcClient
from harness.signaling.messages import Mode
from harness.target.model import Target

DEFAULT_CALLS = 100
BATCH = 10
WARMUP = 3
"""Calls per series before measuring: first calls pay one-off costs (connections, caches)."""

RATIO = Goal("p50_ratio", "<=", 0.52)  # DESIGN section 9
EFFICIENCY = Goal("efficiency", ">=", 0.95)


class Series(StrEnum):
    ULLC = "ullc"
    SEQUENTIAL = "sequential"
    ULLC_DNS_EVERY_CALL = "ullc_dns_every_call"
    """What-if, not judged: ULLC with a DNS lookup on every call (no SIG-5 reuse)."""


@dataclass(frozen=True)
class SeriesResult:
    series: Series
    calls: int
    connected: int
    failures: dict[str, int]
    latency: Latency
    samples_ms: tuple[float, ...]
    dns_lookups: int
    """Calls that asked DNS (the others reused the previous answer, SIG-5)."""
    dns_p50_ms: float | None
    """DNS lookup (DNS_SENT -> DNS_ANSWERED) of the calls that asked, p50."""
    response_p50_ms: float | None
    """``session.created`` arrival, p50, relative to ``connect``."""

    @classmethod
    def of(cls, series: Series, results: Sequence[CallResult]) -> SeriesResult:
        samples = [r.connect_ms for r in results if r.connected and r.connect_ms is not None]
        failures: dict[str, int] = {}
        for result in results:
            if result.failure is not None:
                failures[result.failure] = failures.get(result.failure, 0) + 1
        dns = [d for d in (_dns_ms(r) for r in results) if d is not None]
        responses = [r.response_ms for r in results if r.response_ms is not None]
        return cls(
            series=series,
            calls=len(results),
            connected=len(samples),
            failures=failures,
            latency=Latency.of(samples),
            samples_ms=tuple(round(s, 3) for s in samples),
            dns_lookups=len(dns),
            dns_p50_ms=Latency.of(dns).p50_ms,
            response_p50_ms=Latency.of(responses).p50_ms,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "connected": self.connected,
            "failed": self.calls - self.connected,
            "failures": self.failures,
            **self.latency.to_json(),
            "dns_lookups": self.dns_lookups,
            "dns_p50_ms": _round(self.dns_p50_ms),
            "response_p50_ms": _round(self.response_p50_ms),
            "samples_ms": list(self.samples_ms),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _dns_ms(result: CallResult) -> float | None:
    sent = result.first_ms(EventKind.DNS_SENT)
    answered = result.first_ms(EventKind.DNS_ANSWERED)
    return None if sent is None or answered is None else answered - sent


@dataclass(frozen=True)
class UllcVsSequential:
    world: str
    rtt_ms: float
    calls_per_mode: int
    batch: int
    warmup: int
    ullc: SeriesResult
    sequential: SeriesResult
    dns_every_call: SeriesResult
    load: MachineLoad

    @property
    def ratio(self) -> float | None:
        a, b = self.ullc.latency.p50_ms, self.sequential.latency.p50_ms
        return None if a is None or not b else a / b

    @property
    def efficiency(self) -> float | None:
        p50 = self.ullc.latency.p50_ms
        return None if not p50 else self.rtt_ms / p50

    @property
    def dns_every_call_efficiency(self) -> float | None:
        p50 = self.dns_every_call.latency.p50_ms
        return None if not p50 else self.rtt_ms / p50

    @property
    def judged(self) -> list[Judged]:
        return [Judged(RATIO, self.ratio), Judged(EFFICIENCY, self.efficiency)]

    def rows(self) -> list[Row]:
        ratio, efficiency = self.judged
        floor = self.rtt_ms
        overhead = None if self.ullc.latency.p50_ms is None else self.ullc.latency.p50_ms - floor
        rows: list[Row] = [
            ("world / client-DC RTT (TOPO-4)", f"{self.world} / {floor:g} ms", "", ""),
            ("calls per mode (interleaved)", f"{self.calls_per_mode} in batches of "
             f"{self.batch}", "", ""),
        ]  # fmt: skip
        for label, series in (("ullc", self.ullc), ("sequential", self.sequential)):
            lat = series.latency
            rows.append(
                (
                    f"{label} p50 / p95 / p99",
                    f"{ms_text(lat.p50_ms)} / {ms_text(lat.p95_ms)} / {ms_text(lat.p99_ms)}",
                    "",
                    "",
                )
            )
            if series.connected < series.calls:
                rows.append((f"{label} failed", _failures(series), "", ""))
        rows += [
            ("p50 ratio ullc / sequential", number_text(ratio.value), RATIO.text(),
             ratio.verdict.value),
            ("efficiency RTT / ullc p50", number_text(efficiency.value), EFFICIENCY.text(),
             efficiency.verdict.value),
            ("ullc p50 over the RTT floor", ms_text(overhead), "", ""),
            ("ullc calls that asked DNS (SIG-5 reuse)",
             f"{self.ullc.dns_lookups} of {self.ullc.calls}", "", ""),
            ("what-if: DNS on every call, p50",
             ms_text(self.dns_every_call.latency.p50_ms), "", ""),
            ("  its DNS lookup p50", ms_text(self.dns_every_call.dns_p50_ms, 2), "", ""),
            ("  its efficiency", number_text(self.dns_every_call_efficiency),
             EFFICIENCY.text(), ""),
            ("machine load", self.load.text(), "", ""),
        ]  # fmt: skip
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "world": self.world,
            "rtt_ms": self.rtt_ms,
            "calls_per_mode": self.calls_per_mode,
            "batch": self.batch,
            "warmup_per_mode": self.warmup,
            "p50_ratio": _round(self.ratio),
            "efficiency": _round(self.efficiency),
            **judged_json(self.judged),
            "ullc": self.ullc.to_json(),
            "sequential": self.sequential.to_json(),
            "what_if": {
                "ullc_dns_every_call": self.dns_every_call.to_json(),
                "efficiency_dns_every_call": _round(self.dns_every_call_efficiency),
            },
            "load": self.load.to_json(),
            "percentile_method": "nearest-rank",
        }


def _failures(series: SeriesResult) -> str:
    parts = ", ".join(f"{name} {count}" for name, count in sorted(series.failures.items()))
    return f"{series.calls - series.connected} ({parts})"


async def measure(
    target: Target, calls: int, *, batch: int = BATCH, warmup: int = WARMUP
) -> dict[Series, list[CallResult]]:
    """``calls`` per series, alternating batches of ``batch``, one call at a time."""
    results: dict[Series, list[CallResult]] = {series: [] for series in Series}
    async with (
        UllcClient(target) as client,
        UllcClient(target, reuse_dns=False) as asking,
    ):
        plan = [
            (Series.ULLC, client, Mode.ULLC),
            (Series.SEQUENTIAL, client, Mode.SEQUENTIAL),
            (Series.ULLC_DNS_EVERY_CALL, asking, Mode.ULLC),
        ]
        for _series, placer, mode in plan:
            for _ in range(warmup):
                await placer.connect(mode)
        done = 0
        while done < calls:
            size = min(batch, calls - done)
            for series, placer, mode in plan:
                for _ in range(size):
                    results[series].append(await placer.connect(mode))
            done += size
            progress(f"ullc_vs_sequential: {done}/{calls} calls per mode")
    return results


def run(options: BenchOptions | None = None) -> UllcVsSequential:
    from harness.stack import default_topology, start_local_stack
    from harness.target import load_target

    calls = (options.calls if options else None) or DEFAULT_CALLS
    meter = LoadMeter()
    progress("ullc_vs_sequential: starting the reference stack (default world)")
    with start_local_stack(default_topology(), network="auto") as stack:
        target = load_target(stack.target_path)
        results = asyncio.run(measure(target, calls))
        world, rtt = stack.topology.name, stack.topology.client_dc_rtt_ms()
    return UllcVsSequential(
        world=world,
        rtt_ms=rtt,
        calls_per_mode=calls,
        batch=BATCH,
        warmup=WARMUP,
        ullc=SeriesResult.of(Series.ULLC, results[Series.ULLC]),
        sequential=SeriesResult.of(Series.SEQUENTIAL, results[Series.SEQUENTIAL]),
        dns_every_call=SeriesResult.of(
            Series.ULLC_DNS_EVERY_CALL, results[Series.ULLC_DNS_EVERY_CALL]
        ),
        load=meter.done(),
    )
