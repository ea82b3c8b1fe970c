"""What one test observed, kept for reports: calls, faults, topology, captures, logs.

The pytest plugin makes one :class:`Evidence` per test and hands it to the
fixtures that place calls and inject faults; the reporting layer reads it after
the test to attach plots, timelines, pcaps and logs. Nothing here imports
pytest, so a script that drives the library can collect the same evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client.result import CallResult
from harness.client.stats import CallStats
from harness.faults.log import FaultLog


@dataclass(frozen=True)
class CallBatch:
    """One run of calls inside a test, e.g. ``"ullc"`` then ``"sequential"``."""

    label: str
    results: tuple[CallResult, ...]
    stats: CallStats
    started_at: float
    """``time.monotonic()`` when the batch began: places it next to fault events."""
    finished_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "stats": self.stats.to_json(),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": [result.to_json() for result in self.results],
        }


@dataclass
class Evidence:
    """Everything a report needs to explain one test without its logs."""

    test_id: str
    requirements: tuple[str, ...] = ()
    """Requirement IDs the test cites (specs/), e.g. ``("FB-1", "FB-5")``."""
    suite: str | None = None
    seed: int | None = None
    target_name: str | None = None
    topology: dict[str, Any] | None = None
    fault_log: FaultLog | None = None
    batches: list[CallBatch] = field(default_factory=list)
    captures: dict[str, list[Any]] = field(default_factory=dict)
    """Per link (hop proxy name), the capture records the hop kept during the test."""
    component_logs: dict[str, Path] = field(default_factory=dict)
    """Per component of the stack, its log file (attached when the test fails)."""

    def add_batch(
        self,
        label: str,
        results: list[CallResult],
        *,
        started_at: float,
        stats: CallStats | None = None,
    ) -> CallBatch:
        """Record a run of calls; pass ``stats`` when the caller already has them."""
        batch = CallBatch(
            label=label,
            results=tuple(results),
            stats=stats if stats is not None else CallStats.from_results(results),
            started_at=started_at,
            finished_at=time.monotonic(),
        )
        self.batches.append(batch)
        return batch

    @property
    def results(self) -> list[CallResult]:
        return [result for batch in self.batches for result in batch.results]

    def sample_call(self) -> CallResult | None:
        """The call a report shows in detail: the first failure, else the median connect."""
        results = self.results
        if not results:
            return None
        for result in results:
            if not result.connected:
                return result
        ordered = sorted(results, key=lambda r: r.connect_ms or 0.0)
        return ordered[len(ordered) // 2]

    def to_json(self) -> dict[str, Any]:
        return {
            "test_id": self.test_id,
            "suite": self.suite,
            "requirements": list(self.requirements),
            "seed": self.seed,
            "target": self.target_name,
            "batches": [batch.to_json() for batch in self.batches],
            "faults": None if self.fault_log is None else self.fault_log.to_json(),
        }
