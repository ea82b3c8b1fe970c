"""A call's stats row, and the summary read back from Locust's rows."""

from __future__ import annotations

from harness.client.result import CallOutcome, CallResult
from harness.load.routes import CallFailed, Route, RouteCounts, request_name
from harness.signaling.messages import Mode


def _result(outcome: CallOutcome, *, fell_back: bool = False, bet_hit: bool = True) -> CallResult:
    connected = outcome is CallOutcome.CONNECTED
    return CallResult(
        outcome=outcome, mode=Mode.ULLC, connect_ms=120.0 if connected else None,
        fell_back=fell_back, bet_hit=connected and bet_hit,
    )  # fmt: skip


def test_each_call_is_named_by_region_and_route() -> None:
    assert request_name("us", _result(CallOutcome.CONNECTED)) == "us/hit"
    missed = _result(CallOutcome.CONNECTED, fell_back=True, bet_hit=False)
    assert request_name("eu", missed) == "eu/fallback"
    # FB-4: the media path answered first, but the edge's check got its success too.
    both = _result(CallOutcome.CONNECTED, fell_back=True, bet_hit=True)
    assert request_name("eu", both) == "eu/hit"
    assert request_name("ap", _result(CallOutcome.MEDIA_TIMEOUT)) == "ap/failed"


def test_a_failed_call_carries_its_typed_outcome() -> None:
    assert str(CallFailed(_result(CallOutcome.MEDIA_TIMEOUT))).startswith("media_timeout")


def test_counts_and_hit_rate_come_from_the_rows() -> None:
    counts = RouteCounts.from_rows(
        [("us/hit", 6, 0), ("eu/hit", 3, 0), ("us/fallback", 3, 0), ("us/failed", 2, 2),
         ("Aggregated", 14, 2)]
    )  # fmt: skip
    assert (counts.hits, counts.fallbacks, counts.failed, counts.calls) == (9, 3, 2, 14)
    assert counts.hit_rate == 0.75
    assert RouteCounts.from_rows([("us/failed", 1, 1)]).hit_rate is None
    assert {route.value for route in Route} == {"hit", "fallback", "failed"}
