"""What every bench section shares: goals and verdicts, machine load, latency summaries.

A section measures, states the DESIGN section 9 target it measured against and
judges it; it never fails a build (``ullc-harness bench`` exits 0 on a miss).
Numbers on a shared 2-core machine are noisy, so every section records the load
average before and after it ran next to its numbers.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.client.stats import nearest_rank

Row = tuple[str, str, str, str]
"""One table row: metric, measured value, target, verdict ("" when nothing is judged)."""


class Verdict(StrEnum):
    MET = "met"
    MISSED = "MISSED"
    """Upper case on purpose: a miss must stand out in a terminal table."""
    NOT_MEASURED = "not measured"
    """The value is missing (for example no call connected): neither met nor missed."""


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Goal:
    """One DESIGN section 9 target: ``value <op> limit``."""

    key: str
    op: str
    limit: float
    unit: str = ""

    def judge(self, value: float | None) -> Verdict:
        if value is None:
            return Verdict.NOT_MEASURED
        return Verdict.MET if _COMPARE[self.op](value, self.limit) else Verdict.MISSED

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.op} {self.limit:g}{unit}"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "limit": self.limit, "unit": self.unit}


@dataclass(frozen=True)
class Judged:
    """A measured value next to its goal and the verdict."""

    goal: Goal
    value: float | None

    @property
    def verdict(self) -> Verdict:
        return self.goal.judge(self.value)


def overall(judged: Sequence[Judged]) -> Verdict:
    """MISSED if any goal was missed, NOT_MEASURED if any could not be measured, else MET."""
    verdicts = {j.verdict for j in judged}
    for verdict in (Verdict.MISSED, Verdict.NOT_MEASURED):
        if verdict in verdicts:
            return verdict
    return Verdict.MET


def judged_json(judged: Sequence[Judged]) -> dict[str, Any]:
    """The ``targets`` / ``verdicts`` / ``verdict`` fields every section's JSON carries."""
    return {
        "targets": {j.goal.key: j.goal.to_json() for j in judged},
        "verdicts": {j.goal.key: j.verdict.value for j in judged},
        "verdict": overall(judged).value,
    }


@dataclass(frozen=True)
class MachineLoad:
    """``os.getloadavg()`` around a section: with 2 shared cores this explains outliers."""

    cpus: int
    before: tuple[float, float, float]
    after: tuple[float, float, float]

    @staticmethod
    def now() -> tuple[float, float, float]:
        one, five, fifteen = os.getloadavg()
        return (round(one, 2), round(five, 2), round(fifteen, 2))

    def text(self) -> str:
        return f"{self.before[0]:.2f} -> {self.after[0]:.2f} (1-min load average, {self.cpus} cpus)"

    def to_json(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "before": list(self.before), "after": list(self.after)}


class LoadMeter:
    """Samples the load average at construction and at :meth:`done`."""

    def __init__(self) -> None:
        self.before = MachineLoad.now()

    def done(self) -> MachineLoad:
        return MachineLoad(os.cpu_count() or 1, self.before, MachineLoad.now())


@dataclass(frozen=True)
class Latency:
    """Nearest-rank percentiles (as :class:`harness.client.stats.CallStats`) of some samples."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        return cls(
            count=len(samples),
            p50_ms=nearest_rank(samples, 50),
            p95_ms=nearest_rank(samples, 95),
            p99_ms=nearest_rank(samples, 99),
            max_ms=max(samples) if samples else None,
        )

    def to_json(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "count": self.count,
            "p50_ms": ms(self.p50_ms),
            "p95_ms": ms(self.p95_ms),
            "p99_ms": ms(self.p99_ms),
            "max_ms": ms(self.max_ms),
        }


def ms_text(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f} ms"


def number_text(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def progress(message: str) -> None:
    """Progress of long sections goes to stderr, so stdout stays the table."""
    print(f"  [bench] {message}", file=sys.stderr, flush=True)
