"""CallStats: nearest-rank percentiles, failures by outcome, hit rate, recovery."""

from __future__ import annotations

import pytest

from harness.client import CallOutcome, CallResult
from harness.signaling import ErrorCode, Mode
from harness.stats import CallStats, nearest_rank


def test_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert nearest_rank(values, 50) == 50
    assert nearest_rank(values, 95) == 95
    assert nearest_rank(values, 99) == 99
    assert nearest_rank(values, 100) == 100
    assert nearest_rank([7.0], 99) == 7
    assert nearest_rank([3.0, 1.0, 2.0], 50) == 2  # rank ceil(1.5) = 2
    assert nearest_rank([], 50) is None
    with pytest.raises(ValueError, match="percentile"):
        nearest_rank(values, 0)


def test_stats_from_results() -> None:
    ok = [
        CallResult(CallOutcome.CONNECTED, Mode.ULLC, connect_ms=float(ms), bet_hit=True)
        for ms in range(10, 90)
    ]
    fell_back = [
        CallResult(
            CallOutcome.CONNECTED, Mode.ULLC, connect_ms=200.0, fell_back=True, recovery_ms=rec
        )
        for rec in (40.0, 60.0)
    ]
    failed = [
        CallResult(CallOutcome.SIGNALING_ERROR, Mode.ULLC, error_code=ErrorCode.TIMEOUT),
        CallResult(CallOutcome.MEDIA_TIMEOUT, Mode.ULLC),
        CallResult(CallOutcome.MEDIA_TIMEOUT, Mode.ULLC),
    ]
    stats = CallStats.from_results(ok + fell_back + failed)
    assert (stats.calls, stats.connected, stats.failed) == (85, 82, 3)
    assert dict(stats.failures) == {"media_timeout": 2, "signaling_error(timeout)": 1}
    assert stats.p50_ms == 50.0
    assert stats.p99_ms == 200.0
    assert stats.fallbacks == 2
    assert stats.hit_rate == pytest.approx(80 / 82)
    assert stats.mean_recovery_ms == 50.0
    body = stats.to_json()
    assert {"calls", "connected", "p50_ms", "p95_ms", "p99_ms", "fallbacks"} <= set(body)
    assert "hit rate" in stats.table()


def test_empty_run() -> None:
    stats = CallStats.from_results([])
    assert stats.p50_ms is None
    assert stats.hit_rate is None
