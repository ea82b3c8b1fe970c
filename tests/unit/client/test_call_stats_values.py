"""Percentiles are checked against values computed by hand, not for their shape.

Nearest rank (overview): the value at rank ceil(p/100 * n), 1-based, of the sorted values.
Each set below is chosen so that a common mistake gives another number: linear
interpolation, floor or round instead of ceil, a 0-based rank, forgetting to sort, or
counting failed calls among the connected ones.
"""

from __future__ import annotations

import pytest

from harness.client import CallOutcome, CallResult
from harness.conformance.accounting import latencies_counting_failures, p95_counting_failures
from harness.signaling import Mode
from harness.stats import CallStats, nearest_rank

# (values in the order the calls finished, p50, p95, p99), worked out by hand.
HAND_COMPUTED = [
    pytest.param(
        # sorted: 5 7 9 12 15 18 21 27 33 40; p50 rank 5, p95 rank ceil(9.5)=10, p99 rank 10
        [12, 5, 40, 7, 33, 21, 18, 9, 27, 15],
        15,
        40,
        40,
        id="ten-unsorted",
    ),
    pytest.param(
        # 1..30: p50 rank 15; p95 rank ceil(28.5)=29 (floor/round give 28); p99 ceil(29.7)=30
        list(range(30, 0, -1)),
        15,
        29,
        30,
        id="thirty-reversed",
    ),
    pytest.param(
        # sorted 100..700: p50 rank ceil(3.5)=4 -> 400 (0-based rank gives 500), p95 rank 7
        [100, 300, 200, 700, 500, 400, 600],
        400,
        700,
        700,
        id="seven",
    ),
    pytest.param(
        # 200 values 1..200: p50 rank 100, p95 rank 190, p99 rank 198 (interpolation: 198.01)
        [float(v) for v in range(1, 201)],
        100,
        190,
        198,
        id="two-hundred",
    ),
]


@pytest.mark.parametrize(("values", "p50", "p95", "p99"), HAND_COMPUTED)
def test_nearest_rank_matches_the_hand_computed_value(
    values: list[float], p50: float, p95: float, p99: float
) -> None:
    floats = [float(v) for v in values]
    assert nearest_rank(floats, 50) == p50
    assert nearest_rank(floats, 95) == p95
    assert nearest_rank(floats, 99) == p99


@pytest.mark.parametrize(("values", "p50", "p95", "p99"), HAND_COMPUTED)
def test_call_stats_percentiles_over_connected_calls_only(
    values: list[float], p50: float, p95: float, p99: float
) -> None:
    connected = [CallResult(CallOutcome.CONNECTED, Mode.ULLC, connect_ms=float(v)) for v in values]
    # Failed calls may carry the time they gave up: it must not enter the percentiles.
    failed = [CallResult(CallOutcome.MEDIA_TIMEOUT, Mode.ULLC, connect_ms=5000.0)] * 3

    stats = CallStats.from_results(failed[:1] + connected + failed[1:])

    assert (stats.p50_ms, stats.p95_ms, stats.p99_ms) == (p50, p95, p99)
    assert stats.max_ms == max(values)
    assert stats.mean_ms == pytest.approx(sum(values) / len(values))
    assert (stats.connected, stats.failed) == (len(values), 3)
    body = stats.to_json()
    assert (body["p50_ms"], body["p95_ms"], body["p99_ms"]) == (p50, p95, p99)


def test_p95_counting_failures_by_hand() -> None:
    # 19 connected at 10..190 ms, 1 failure: sorted with inf last, rank ceil(19)=19 -> 190.
    results = [CallResult(CallOutcome.CONNECTED, Mode.ULLC, connect_ms=float(v)) for v in
               range(190, 0, -10)]  # fmt: skip
    failure = CallResult(CallOutcome.MEDIA_TIMEOUT, Mode.ULLC)
    assert p95_counting_failures([*results, failure]) == 190.0
    # Two failures: 21 values, rank ceil(19.95)=20 falls on the first failure.
    assert p95_counting_failures([*results, failure, failure]) == float("inf")
    assert latencies_counting_failures([failure, *results[:2]]) == [180.0, 190.0, float("inf")]
