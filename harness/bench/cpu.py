"""CPU time spent by the client and by the stack over a run: per-call cost, calls per core.

Measured from the kernel's own accounting (``getrusage`` for this process, which runs the
client; ``/proc/PID/stat`` for every process of the stack), so the figures hold on a
loaded machine where wall time does not: they say how many calls a core can carry.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its reaped children; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # Fields 14-17 of proc(5) (utime, stime, cutime, cstime), counted after "pid (comm)".
    return sum(int(value) for value in fields[11:15]) / _TICKS


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuMark:
    client_s: float
    stack_s: dict[int, float]
    names: dict[int, str] = field(default_factory=dict)
    """Component name by pid, when the stack's pids came with names (per-component cost)."""
    at: float | None = None
    """``time.monotonic()`` of the mark: with two marks, the wall time the CPU was spent in."""

    @classmethod
    def now(cls, stack_pids: Iterable[int] | Mapping[str, int]) -> CpuMark:
        """A process gone by now drops out (a restarted component is not counted twice).

        With ``{name: pid}`` the mark also knows which component each process is.
        """
        names = (
            {pid: name for name, pid in stack_pids.items()}
            if isinstance(stack_pids, Mapping)
            else {}
        )
        pids = stack_pids.values() if isinstance(stack_pids, Mapping) else stack_pids
        found = {pid: process_cpu_s(pid) for pid in pids}
        used = {pid: cpu for pid, cpu in found.items() if cpu is not None}
        return cls(own_cpu_s(), used, names, time.monotonic())


CLIENT = "client"
"""The busiest-process name of the client (the process that runs the bench)."""


@dataclass(frozen=True)
class CpuCost:
    calls: int
    client_s: float
    stack_s: float
    by_component: dict[str, float] = field(default_factory=dict)
    """Stack CPU seconds per component (when the marks knew the names): where to look
    first when the stack's share grows."""
    wall_s: float | None = None
    """Wall time between the two marks, when both knew it."""

    @classmethod
    def between(cls, before: CpuMark, after: CpuMark, calls: int) -> CpuCost:
        spent = {pid: after.stack_s.get(pid, used) - used for pid, used in before.stack_s.items()}
        by_component = {
            before.names[pid]: seconds for pid, seconds in spent.items() if pid in before.names
        }
        total = max(0.0, sum(spent.values()))
        wall = None if before.at is None or after.at is None else after.at - before.at
        return cls(calls, after.client_s - before.client_s, total, by_component, wall)

    @property
    def total_s(self) -> float:
        return self.client_s + self.stack_s

    def busiest(self) -> tuple[str, float]:
        """The process that spent the most CPU, and its seconds.

        One process runs on one core at a time, so however many cores there are, the
        work it did takes at least that long: a floor under the run's slowest call
        whenever every call needs that process (the client, a hop, a gateway).
        """
        return max([(CLIENT, self.client_s), *self.by_component.items()], key=lambda i: i[1])

    def cores_busy(self, cores: int) -> float | None:
        """Share of ``cores`` the client and stack kept busy between the marks: near 1,
        the run was CPU-bound and its latency is a queue for the cores."""
        if self.wall_s is None or self.wall_s <= 0 or cores < 1:
            return None
        return self.total_s / (cores * self.wall_s)

    def top_components(self, count: int) -> list[tuple[str, float]]:
        """The ``count`` costliest components, ms of CPU per call, costliest first."""
        ranked = sorted(self.by_component.items(), key=lambda item: -item[1])[:count]
        return [(name, self.per_call_ms(seconds) or 0.0) for name, seconds in ranked]

    def per_call_ms(self, seconds: float) -> float | None:
        return None if self.calls == 0 else seconds * 1000.0 / self.calls

    @property
    def calls_per_core_s(self) -> float | None:
        """Calls one fully used core carries per second, client and stack together."""
        total = self.client_s + self.stack_s
        return None if total <= 0 else self.calls / total

    def to_json(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        body: dict[str, Any] = {
            "client_cpu_ms_per_call": rounded(self.per_call_ms(self.client_s)),
            "stack_cpu_ms_per_call": rounded(self.per_call_ms(self.stack_s)),
            "calls_per_core_s": rounded(self.calls_per_core_s),
        }
        if self.wall_s is not None:
            name, seconds = self.busiest()
            body["cpu_s"] = rounded(self.total_s)
            body["wall_s"] = rounded(self.wall_s)
            body["busiest_process"] = {"name": name, "cpu_s": rounded(seconds)}
        if self.by_component:
            body["stack_cpu_ms_per_call_by_component"] = {
                name: rounded(self.per_call_ms(seconds))
                for name, seconds in sorted(self.by_component.items())
            }
        return body
