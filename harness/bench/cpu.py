"""CPU time spent by the client and by the stack over a run: per-call cost, calls per core.

Measured from the kernel's own accounting (``getrusage`` for this process, which runs the
client; ``/proc/PID/stat`` for every process of the stack), so the figures hold on a
loaded machine where wall time does not: they say how many calls a core can carry.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from dataclasses import dataclass
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

    @classmethod
    def now(cls, stack_pids: Iterable[int]) -> CpuMark:
        """A process gone by now drops out (a restarted component is not counted twice)."""
        found = {pid: process_cpu_s(pid) for pid in stack_pids}
        return cls(own_cpu_s(), {pid: used for pid, used in found.items() if used is not None})


@dataclass(frozen=True)
class CpuCost:
    calls: int
    client_s: float
    stack_s: float

    @classmethod
    def between(cls, before: CpuMark, after: CpuMark, calls: int) -> CpuCost:
        stack = sum(after.stack_s.get(pid, used) - used for pid, used in before.stack_s.items())
        return cls(calls, after.client_s - before.client_s, max(0.0, stack))

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

        return {
            "client_cpu_ms_per_call": rounded(self.per_call_ms(self.client_s)),
            "stack_cpu_ms_per_call": rounded(self.per_call_ms(self.stack_s)),
            "calls_per_core_s": rounded(self.calls_per_core_s),
        }
