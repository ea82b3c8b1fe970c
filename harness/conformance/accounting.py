"""No call lost silently: every call of a chaos run is accounted for against the fault log.

After a run, each call is one of:

- connected (with a connect latency);
- failed with a typed :class:`~harness.client.result.CallOutcome` *while a fault that can
  explain that outcome was active* (its window overlaps the call's span);
- a defect: failed outside every fault window, failed with an outcome no active fault
  explains (a fault never excuses a protocol violation), untyped, or missing.

Fault windows come from the :class:`~harness.faults.log.FaultLog` the fault fixture
writes (``applied``/``removed`` events on ``time.monotonic``, the clock calls use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.client.result import CallOutcome, CallResult
from harness.faults.log import FaultLog, FaultWindow
from harness.faults.vocabulary import KINDS

EXPLAINS: Mapping[str, frozenset[CallOutcome]] = {
    kind.value: spec.explains for kind, spec in KINDS.items()
}
"""Fault kind (``FaultEvent.what``) -> outcomes it can explain, from the one kind table
(:data:`harness.faults.vocabulary.KINDS`)."""


def fault_windows(log: FaultLog) -> list[FaultWindow]:
    """The log's windows (:meth:`FaultLog.windows`, the only pairing)."""
    return log.windows()


def call_span(result: CallResult) -> tuple[float, float]:
    """``(start, end)`` of a call on ``time.monotonic``: connect to its last timeline event."""
    start = result.started_at if result.started_at is not None else 0.0
    last_ms = max((event.t_ms for event in result.timeline), default=result.connect_ms or 0.0)
    return start, start + last_ms / 1000.0


@dataclass(frozen=True)
class Explained:
    result: CallResult
    window: FaultWindow


@dataclass(frozen=True)
class Accounting:
    """The verdict over one run; :attr:`ok` when nothing is lost or unexplained."""

    calls: int
    expected_calls: int | None
    connected: tuple[CallResult, ...]
    explained: tuple[Explained, ...]
    unexplained: tuple[CallResult, ...]
    """Failed with no overlapping window that can explain the outcome."""
    untyped: tuple[str, ...]
    windows: tuple[FaultWindow, ...]

    @property
    def lost(self) -> int:
        return 0 if self.expected_calls is None else self.expected_calls - self.calls

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.untyped and self.lost == 0

    def explain(self) -> str:
        lines = [
            f"{self.calls} calls ({self.expected_calls} placed): {len(self.connected)} connected, "
            f"{len(self.explained)} failed inside a fault window, "
            f"{len(self.unexplained)} failed outside, {len(self.untyped)} untyped, "
            f"{self.lost} lost",
            "fault windows: " + ("; ".join(w.describe() for w in self.windows) or "none"),
        ]
        for result in self.unexplained:
            start, end = call_span(result)
            lines.append(
                f"  unexplained: {result.failure} [{start:.3f}, {end:.3f}] {result.detail}"
            )
        lines += [f"  untyped: {text}" for text in self.untyped]
        return "\n".join(lines)


Explains = Callable[[CallResult, FaultWindow], bool]


def default_explains(result: CallResult, window: FaultWindow) -> bool:
    return result.outcome in EXPLAINS.get(window.what, frozenset())


def account(
    results: Sequence[CallResult] | Iterable[CallResult],
    log: FaultLog | None,
    *,
    expected_calls: int | None = None,
    grace_s: float = 0.0,
    explains: Explains = default_explains,
) -> Accounting:
    """Account for every call of a run against ``log``.

    ``grace_s`` extends each window past its removal: a fault undone at ``t`` still
    explains a call that overlapped ``[start, t + grace_s]`` (a resumed DC drains its
    backlog, a healed TCP link reconnects).
    """
    calls = list(results)
    windows = fault_windows(log) if log is not None else []
    connected: list[CallResult] = []
    explained: list[Explained] = []
    unexplained: list[CallResult] = []
    untyped: list[str] = []
    for result in calls:
        if not isinstance(result.outcome, CallOutcome):
            untyped.append(f"outcome {result.outcome!r} is not a CallOutcome")
            continue
        if result.connected:
            if result.connect_ms is None:
                untyped.append("connected without a connect latency")
            connected.append(result)
            continue
        if not result.detail:
            untyped.append(f"{result.failure} without a detail saying what happened")
        start, end = call_span(result)
        window = next(
            (w for w in windows if w.overlaps(start, end, grace_s) and explains(result, w)), None
        )
        if window is None:
            unexplained.append(result)
        else:
            explained.append(Explained(result, window))
    return Accounting(
        calls=len(calls),
        expected_calls=expected_calls,
        connected=tuple(connected),
        explained=tuple(explained),
        unexplained=tuple(unexplained),
        untyped=tuple(untyped),
        windows=tuple(windows),
    )


def latencies_counting_failures(results: Sequence[CallResult]) -> list[float]:
    """Connect latencies (ms), sorted, where a failed call counts as infinitely slow."""
    return sorted(
        r.connect_ms if r.connected and r.connect_ms is not None else float("inf") for r in results
    )


def p95_counting_failures(results: Sequence[CallResult]) -> float:
    """Nearest-rank p95 of connect latency where a failed call counts as infinitely slow.

    CallStats' percentiles are over connected calls only (the overview's definition);
    under chaos a run must not look fast by losing its slow calls, so a batch whose p95
    falls on a failure has an infinite p95.
    """
    latencies = latencies_counting_failures(results)
    if not latencies:
        return float("inf")
    rank = max(1, -(-95 * len(latencies) // 100))
    return latencies[rank - 1]


Accountant = Callable[..., Accounting]
"""What the chaos suite's ``accounted`` fixture is: ``accounted(results, expected_calls=n,
grace_s=0)`` asserts :func:`assert_accounted` over the test's fault log."""


def assert_accounted(
    results: Sequence[CallResult],
    log: FaultLog | None,
    *,
    expected_calls: int,
    grace_s: float = 0.0,
) -> Accounting:
    """Every call connected or failed typed inside a fault window that explains it.

    Raises AssertionError with :meth:`Accounting.explain` otherwise, so a pytest run shows
    which call was lost and which faults were active; returns the verdict for more checks.
    """
    verdict = account(results, log, expected_calls=expected_calls, grace_s=grace_s)
    assert verdict.ok, verdict.explain()
    return verdict
