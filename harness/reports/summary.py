"""The per-suite table printed at the end of every pytest run with the plugin active.

``ullc-harness run`` prints no table of its own: it is this one, and its ``summary.json``
is :meth:`RunSummary.records` of the same object.

Tests report compact :class:`CallSample` rows (they travel from xdist workers
to the controller inside the test report, so they are plain JSON); the table
aggregates them per suite through :class:`~harness.client.stats.CallStats`,
so its numbers are the same nearest-rank percentiles as everywhere else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.client.result import CallOutcome, CallResult
from harness.client.stats import CallStats
from harness.signaling.messages import Mode

DEFAULT_BUDGET_MS = 1000.0
"""DESIGN section 4: happy-path p95 < 1000 ms unless configured otherwise."""


@dataclass(frozen=True)
class CallSample:
    """What the table needs of one call."""

    mode: str
    outcome: str
    connect_ms: float | None
    fell_back: bool
    bet_hit: bool = False
    """FB-4: the check through the resolved edge got an authentic success."""

    @classmethod
    def of(cls, result: CallResult) -> CallSample:
        return cls(
            result.mode.value,
            result.outcome.value,
            result.connect_ms,
            result.fell_back,
            result.bet_hit,
        )

    def to_json(self) -> list[Any]:
        return [self.mode, self.outcome, self.connect_ms, self.fell_back, self.bet_hit]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> CallSample:
        return cls(
            str(row[0]),
            str(row[1]),
            None if row[2] is None else float(row[2]),
            bool(row[3]),
            bool(row[4]) if len(row) > 4 else False,
        )

    def as_result(self) -> CallResult:
        """Enough of a CallResult for :meth:`CallStats.from_results`."""
        return CallResult(
            outcome=CallOutcome(self.outcome),
            mode=Mode(self.mode),
            connect_ms=self.connect_ms,
            fell_back=self.fell_back,
            bet_hit=self.bet_hit,
        )


class TestOutcome(StrEnum):
    """What one test came to over its phases (a failed teardown fails a passed test)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @classmethod
    def combine(cls, so_far: TestOutcome | None, phase: TestOutcome) -> TestOutcome:
        if TestOutcome.FAILED in (so_far, phase):
            return TestOutcome.FAILED
        if TestOutcome.SKIPPED in (so_far, phase):
            return TestOutcome.SKIPPED
        return TestOutcome.PASSED


@dataclass
class SuiteRow:
    suite: str
    budget_ms: float
    samples: list[CallSample] = field(default_factory=list)
    tests: int = 0
    outcomes: Counter[TestOutcome] = field(default_factory=Counter)

    @property
    def stats(self) -> CallStats:
        return CallStats.from_results([s.as_result() for s in self.samples])

    @property
    def verdict(self) -> str:
        """``PASS``/``FAIL`` on p95 against the budget; ``-`` without connected calls."""
        p95 = self.stats.p95_ms
        if p95 is None:
            return "-" if not self.samples else "FAIL (none connected)"
        return "PASS" if p95 < self.budget_ms else f"FAIL (p95 > {self.budget_ms:g} ms)"


@dataclass
class RunSummary:
    """Rows per suite, filled test by test."""

    rows: dict[str, SuiteRow] = field(default_factory=dict)

    def add(
        self,
        suite: str,
        samples: Iterable[CallSample],
        budget_ms: float | None,
        outcome: TestOutcome | None = None,
    ) -> None:
        row = self.rows.setdefault(suite, SuiteRow(suite, budget_ms or DEFAULT_BUDGET_MS))
        if budget_ms is not None:
            row.budget_ms = budget_ms
        row.samples.extend(samples)
        row.tests += 1
        if outcome is not None:
            row.outcomes[outcome] += 1

    def records(self) -> list[dict[str, Any]]:
        """The table as data (``summary.json``), one dict a suite."""
        found = []
        for name in sorted(self.rows):
            row = self.rows[name]
            stats = row.stats
            found.append(
                {
                    "suite": name,
                    "tests": row.tests,
                    **{outcome.value: row.outcomes[outcome] for outcome in TestOutcome},
                    "calls": stats.calls,
                    "connected": stats.connected,
                    "p50_ms": _rounded(stats.p50_ms),
                    "p95_ms": _rounded(stats.p95_ms),
                    "p99_ms": _rounded(stats.p99_ms),
                    "fallbacks": stats.fallbacks,
                    "hit_rate": stats.hit_rate,
                    "budget_ms": row.budget_ms,
                    "verdict": row.verdict,
                }
            )
        return found

    def table(self) -> str:
        headers: tuple[str, ...] = ("suite", "tests", "passed", "failed", "skipped")
        headers += ("calls", "connected", "p50", "p95", "p99", "fallbacks", "hit rate", "budget")

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f} ms"

        lines: list[tuple[str, ...]] = [headers]
        for name in sorted(self.rows):
            row = self.rows[name]
            stats = row.stats
            lines.append(
                (
                    name,
                    str(row.tests),
                    *(str(row.outcomes[outcome]) for outcome in TestOutcome),
                    str(stats.calls),
                    str(stats.connected),
                    ms(stats.p50_ms),
                    ms(stats.p95_ms),
                    ms(stats.p99_ms),
                    str(stats.fallbacks),
                    "-" if stats.hit_rate is None else f"{stats.hit_rate:.1%}",
                    f"{row.verdict} (<{row.budget_ms:g} ms)" if stats.connected else row.verdict,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
