"""500 simultaneous ULLC calls at a 50 ms client-DC RTT: p99 <= 500 ms (DESIGN section 9).

The world is the default one with every link latency halved (built here from the
:class:`Topology`, so it follows the default world if that changes); its RTT is
read back from the topology (TOPO-4). Every call has its own client and gateway
connection, all opened before the first call, so the calls start together.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
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
    progress,
)
from harness.bench.cpu import CpuCost, CpuMark
from harness.client import CallResult, run_calls
from harness.client.stats import nearest_rank
from harness.signaling.messages import Mode
from harness.stack.topology import Latencies, Topology

DEFAULT_CONCURRENT = 500
P99 = Goal("p99_ms", "<=", 500.0, "ms")
"""Judged over *all* calls, a failed call ranking as infinitely slow: "p99 <= 500 ms"
means 99 % of the calls connect within 500 ms, and a call that never connects did not."""
SCALE = 0.5
TOP_COMPONENTS = 4


def _scaled(table: Mapping[str, float], factor: float) -> Mapping[str, float]:
    return MappingProxyType({key: value * factor for key, value in table.items()})


def _factor_name(factor: float) -> str:
    return "half" if factor == 0.5 else f"x{factor:g}".replace(".", "p")


def scaled_world(topology: Topology, factor: float = SCALE) -> Topology:
    """``topology`` with every link's one-way latency multiplied by ``factor``."""
    lat = topology.latency
    latency = Latencies(
        client_edge=_scaled(lat.client_edge, factor),
        edge_dc=MappingProxyType(
            {edge: _scaled(table, factor) for edge, table in lat.edge_dc.items()}
        ),
        client_gateway=lat.client_gateway * factor,
        gateway_dc=_scaled(lat.gateway_dc, factor),
        dc_kv=_scaled(lat.dc_kv, factor),
        client_dns=lat.client_dns * factor,
    )
    return replace(
        topology,
        # TOPO schema: names are [a-z0-9-]; "default-x0.5" would be refused.
        name=f"{topology.name}-{_factor_name(factor)}",
        description=f"{topology.name} with every link latency x{factor:g} (bench)",
        latency=latency,
        source=None,
    )


@dataclass(frozen=True)
class Concurrency:
    world: str
    rtt_ms: float
    concurrent: int
    connected: int
    failures: dict[str, int]
    latency: Latency
    fallbacks: int
    start_spread_ms: float | None
    """Last call started minus first call started: how simultaneous the calls were."""
    wall_s: float
    samples_ms: tuple[float, ...]
    load: MachineLoad
    cpu: CpuCost | None = None
    """CPU the client and the stack spent on the calls (opening the clients included)."""
    call_cpu: CpuCost | None = None
    """CPU from the first call's start to the last call's end, opening and closing the
    clients excluded: what the calls' latency competes for."""

    @property
    def p99_all_calls_ms(self) -> float | None:
        """p99 with failed calls as ``inf``; ``None`` when there were no calls."""
        ranked = [*self.samples_ms, *([math.inf] * (self.concurrent - self.connected))]
        return nearest_rank(ranked, 99)

    @property
    def judged(self) -> list[Judged]:
        return [Judged(P99, self.p99_all_calls_ms)]

    @property
    def cpu_budget_ms_per_call(self) -> float | None:
        """CPU per call (client and stack) that fits the p99 goal: the cores can give the
        calls at most cores x 500 ms before the goal has passed. A run that spends more
        is CPU-bound above the goal, whatever its code does with the time."""
        if self.concurrent < 1:
            return None
        return self.load.cpus * P99.limit / self.concurrent

    def rows(self) -> list[Row]:
        (p99,) = self.judged
        lat = self.latency
        failed = self.concurrent - self.connected
        return [
            ("world / client-DC RTT (TOPO-4)", f"{self.world} / {self.rtt_ms:g} ms", "", ""),
            ("simultaneous calls", str(self.concurrent), "", ""),
            ("started within", ms_text(self.start_spread_ms), "", ""),
            ("connected / failed", f"{self.connected} / {failed}", "", ""),
            *((f"  failed: {name}", str(count), "", "") for name, count in
              sorted(self.failures.items())),
            ("p50 / p95", f"{ms_text(lat.p50_ms)} / {ms_text(lat.p95_ms)}", "", ""),
            ("p99 of connected calls", ms_text(lat.p99_ms), "", ""),
            ("p99 of all calls (failed = never)", _all_text(self.p99_all_calls_ms),
             P99.text(), p99.verdict.value),
            ("max", ms_text(lat.max_ms), "", ""),
            ("fallbacks", str(self.fallbacks), "", ""),
            ("wall time (opening clients + calls)", f"{self.wall_s:.1f} s", "", ""),
            *_cpu_rows(self.cpu),
            *_cpu_rows(self.call_cpu, " (calls only)"),
            *_headroom_rows(self),
            ("machine load", self.load.text(), "", ""),
        ]  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "world": self.world,
            "rtt_ms": self.rtt_ms,
            "concurrent": self.concurrent,
            "connected": self.connected,
            "failed": self.concurrent - self.connected,
            "failures": self.failures,
            **self.latency.to_json(),
            "p99_all_calls_ms": (
                None
                if self.p99_all_calls_ms is None or math.isinf(self.p99_all_calls_ms)
                else round(self.p99_all_calls_ms, 3)
            ),
            "p99_all_calls_is_failed_call": self.p99_all_calls_ms == math.inf,
            **judged_json(self.judged),
            "fallbacks": self.fallbacks,
            "start_spread_ms": (
                None if self.start_spread_ms is None else round(self.start_spread_ms, 3)
            ),
            "wall_s": round(self.wall_s, 3),
            "samples_ms": list(self.samples_ms),
            "load": self.load.to_json(),
            **({} if self.cpu is None else {"cpu": self.cpu.to_json()}),
            **({} if self.call_cpu is None else {"call_cpu": self.call_cpu.to_json()}),
            **_headroom_json(self),
            "percentile_method": "nearest-rank",
        }


def _cpu_rows(cpu: CpuCost | None, phase: str = "") -> list[Row]:
    if cpu is None:
        return []
    client = cpu.per_call_ms(cpu.client_s)
    stack = cpu.per_call_ms(cpu.stack_s)
    per_core = cpu.calls_per_core_s
    return [
        (f"CPU per call{phase}: client / stack", f"{ms_text(client)} / {ms_text(stack)}", "", ""),
        (f"calls per core-second{phase}", "-" if per_core is None else f"{per_core:.0f}", "", ""),
        *(
            [(f"  stack CPU per call{phase}, costliest", ", ".join(
                f"{name} {ms:.2f}" for name, ms in cpu.top_components(TOP_COMPONENTS)
            ), "", "")]
            if cpu.by_component else []
        ),
    ]  # fmt: skip


def _headroom_rows(run: Concurrency) -> list[Row]:
    """Why a CPU-bound run missed: the cores' budget per call against what was spent."""
    cpu, budget = run.call_cpu, run.cpu_budget_ms_per_call
    if cpu is None or budget is None or cpu.wall_s is None:
        return []
    cores = run.load.cpus
    busy = cpu.cores_busy(cores)
    name, seconds = cpu.busiest()
    spent = cpu.per_call_ms(cpu.total_s) or 0.0
    return [
        ("  CPU of the calls / their wall time", f"{cpu.total_s:.2f} CPU-s / {cpu.wall_s:.2f} s"
         + ("" if busy is None else f": {cores} cores {busy:.0%} busy"), "", ""),
        ("  busiest process (one core: a floor under the slowest call)",
         f"{name} {seconds:.2f} CPU-s", "", ""),
        (f"  CPU per call the p99 goal allows on {cores} cores",
         f"{budget:.2f} ms (spent {spent:.2f} ms, x{spent / budget:.1f})", "", ""),
    ]  # fmt: skip


def _headroom_json(run: Concurrency) -> dict[str, Any]:
    cpu, budget = run.call_cpu, run.cpu_budget_ms_per_call
    if cpu is None or budget is None:
        return {}
    busy = cpu.cores_busy(run.load.cpus)
    return {
        "cpu_budget_ms_per_call": round(budget, 3),
        "cores_busy": None if busy is None else round(busy, 3),
    }


def _all_text(value: float | None) -> str:
    return "a failed call" if value == math.inf else ms_text(value)


def summarize(
    world: Topology,
    results: list[CallResult],
    wall_s: float,
    load: MachineLoad,
    cpu: CpuCost | None = None,
    call_cpu: CpuCost | None = None,
) -> Concurrency:
    samples = [r.connect_ms for r in results if r.connected and r.connect_ms is not None]
    failures: dict[str, int] = {}
    for result in results:
        if result.failure is not None:
            failures[result.failure] = failures.get(result.failure, 0) + 1
    starts = [r.started_at for r in results if r.started_at is not None]
    spread = (max(starts) - min(starts)) * 1000 if starts else None
    return Concurrency(
        world=world.name,
        rtt_ms=world.client_dc_rtt_ms(),
        concurrent=len(results),
        connected=len(samples),
        failures=failures,
        latency=Latency.of(samples),
        fallbacks=sum(1 for r in results if r.fell_back),
        start_spread_ms=spread,
        wall_s=wall_s,
        samples_ms=tuple(round(s, 3) for s in samples),
        load=load,
        cpu=cpu,
        call_cpu=call_cpu,
    )


def run(options: BenchOptions | None = None) -> Concurrency:
    from harness.stack import default_topology, start_local_stack
    from harness.target import load_target

    count = (options.concurrent if options else None) or DEFAULT_CONCURRENT
    world = scaled_world(default_topology())
    meter = LoadMeter()
    progress(f"concurrency: starting the reference stack ({world.name})")
    with start_local_stack(world, network="auto") as stack:
        target = load_target(stack.target_path)
        step = max(1, count // 5)
        pids = stack.pids()
        marks: dict[str, CpuMark] = {}

        def report(done: int, total: int, _result: CallResult) -> None:
            if done == total:
                marks["calls_ended"] = CpuMark.now(pids)
            if done % step == 0 or done == total:
                progress(f"concurrency: {done}/{total} calls ended")

        def opened() -> None:
            marks["clients_open"] = CpuMark.now(pids)

        progress(f"concurrency: opening {count} clients, then {count} calls at once")
        before = CpuMark.now(pids)
        began = time.monotonic()
        results, _stats = asyncio.run(
            run_calls(
                target, count, concurrency=count, mode=Mode.ULLC, progress=report, on_open=opened
            )
        )
        wall = time.monotonic() - began
        cpu = CpuCost.between(before, CpuMark.now(pids), len(results))
        call_cpu = (
            CpuCost.between(marks["clients_open"], marks["calls_ended"], len(results))
            if "clients_open" in marks and "calls_ended" in marks
            else None
        )
        world = stack.topology
    return summarize(world, results, wall, meter.done(), cpu, call_cpu)
