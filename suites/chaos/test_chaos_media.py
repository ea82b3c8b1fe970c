"""Media-path chaos: loss (independent and bursty) and jitter on the client's edge link.

Signaling rides TCP and is untouched, so each of these is the pacing of STUN-30 at
work: a lost check or answer costs one Tp, not the call. Every test holds p95 to the
budget (failures count as infinitely slow) and accounts for every call.
"""

from __future__ import annotations

import pytest

from harness.conformance.accounting import p95_counting_failures
from harness.conformance.bounds import World
from harness.fixtures.calls import CallRunner
from harness.fixtures.faults import Faults
from suites.chaos.conftest import Accountant

pytestmark = pytest.mark.chaos


def _media_link(world: World) -> str:
    return f"client-edge.{world.edge}"


@pytest.mark.parametrize("probability", [0.01, 0.05, 0.20], ids=["1pct", "5pct", "20pct"])
@pytest.mark.requirements("STUN-30", "RACE-2", "RACE-5", "SIG-14")
def test_media_loss_stays_under_budget(
    probability: float,
    world: World,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    ullc_budget_ms: int,
    accounted: Accountant,
) -> None:
    with ullc_faults.loss(_media_link(world), probability):
        batch = ullc_calls.run(label=f"loss {probability:.0%}")

    accounted(batch.results, expected_calls=batch.stats.calls)
    p95 = p95_counting_failures(batch.results)
    assert p95 < ullc_budget_ms, batch.stats.table()
    # Physics still holds: nothing connects faster than the client-DC round trip (TOPO-4).
    assert batch.stats.p50_ms is not None
    assert batch.stats.p50_ms >= world.media_rtt_ms, batch.stats.table()


@pytest.mark.requirements("STUN-30", "RACE-2", "RACE-5", "SIG-14")
def test_bursty_media_loss_stays_under_budget(
    world: World,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    ullc_budget_ms: int,
    accounted: Accountant,
) -> None:
    # Gilbert-Elliott: into a burst with p, out with r (mean burst 1/r = 2 datagrams);
    # stationary loss p / (p + r) ~ 9 %, but clustered, which hurts paced retransmission most.
    with ullc_faults.bursty_loss(_media_link(world), p=0.05, r=0.5):
        batch = ullc_calls.run(label="bursty loss")

    accounted(batch.results, expected_calls=batch.stats.calls)
    assert p95_counting_failures(batch.results) < ullc_budget_ms, batch.stats.table()


@pytest.mark.requirements("STUN-30", "STUN-34", "SIG-14")
def test_media_jitter_stays_under_budget(
    world: World,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    ullc_budget_ms: int,
    accounted: Accountant,
) -> None:
    # +/- one pacing interval on each direction: datagrams reorder, checks cross answers.
    with ullc_faults.jitter(_media_link(world), world.pacing_ms):
        batch = ullc_calls.run(label="jitter")

    accounted(batch.results, expected_calls=batch.stats.calls)
    assert p95_counting_failures(batch.results) < ullc_budget_ms, batch.stats.table()
