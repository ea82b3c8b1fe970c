"""The set-up race: signaling held back behind media (RACE-3, RACE-4).

Latency on the gateway->DC link (upstream: the request's direction) makes every check
reach the DC ``D`` ms before its session exists. Below the hold H the ingress keeps the
check and releases it on the store's publish; above H it drops it and pacing (RACE-2)
connects the call. Either way the call connects within RACE-4's
``D + RTT_media + Tp + 50 ms``, computed from the topology.
"""

from __future__ import annotations

import pytest

from harness.conformance.accounting import p95_counting_failures
from harness.conformance.bounds import HOLD_MS, World
from harness.faults.model import Stream
from harness.fixtures.calls import CallRunner
from harness.fixtures.faults import Faults
from harness.testing import Accountant

pytestmark = pytest.mark.chaos

RACE_CALLS = 10
"""Calls per race batch; two at a time so the bound measures the race, not the machine."""


@pytest.mark.parametrize(
    "hold_fraction", [0.4, 1.6], ids=["signaling-late-within-hold", "signaling-late-beyond-hold"]
)
@pytest.mark.requirements("RACE-3", "RACE-4", "RACE-2", "SIG-11")
def test_signaling_behind_media_connects_within_race_bound(
    hold_fraction: float,
    world: World,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # The delay is a fraction of H, so one case exercises the hold, the other the pacing.
    extra_ms = hold_fraction * HOLD_MS
    d_ms = world.signaling_lag_ms(extra_ms)
    bound_ms = world.race_bound_ms(extra_ms)

    with ullc_faults.latency(f"gateway-dc.{world.dc}", extra_ms, stream=Stream.UPSTREAM):
        batch = ullc_calls.run(RACE_CALLS, concurrency=2, label=f"signaling +{extra_ms:g} ms")

    accounted(batch.results, expected_calls=RACE_CALLS)
    stats = batch.stats
    assert p95_counting_failures(batch.results) <= bound_ms, (
        f"RACE-4 bound D + RTT_media + Tp + 50 = {d_ms:g} + {world.media_rtt_ms:g} + "
        f"{world.pacing_ms:g} + 50 = {bound_ms:g} ms\n{stats.table()}"
    )
    # The race really happened: no call can connect before its session exists, i.e.
    # before D + RTT_media (the signaling lag plus the media round trip).
    assert stats.p50_ms is not None
    assert stats.p50_ms >= d_ms + world.media_rtt_ms, stats.table()
    # Signaling and media met in the DC the map picked: no fallback was needed.
    assert stats.fallbacks == 0, stats.table()


@pytest.mark.requirements("RACE-3", "SIG-11")
def test_held_check_is_released_when_the_session_is_stored(
    world: World,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # Signaling lags media by just over one Tp. An ingress that holds the early check
    # forwards it the moment the session is stored: connected at D + RTT_media. Without
    # the hold only the retransmission after the store gets through, and the call pays
    # the rest of a second pacing interval: about 2*Tp + RTT_media.
    if world.hold_ms <= 0:
        pytest.skip("target declares no ingress hold ([limits].hold_ms = 0); RACE-3 is a SHOULD")
    extra_ms = 1.1 * world.pacing_ms
    d_ms = world.signaling_lag_ms(extra_ms)
    if d_ms >= world.hold_ms:
        pytest.skip(f"the hold ({world.hold_ms:g} ms) is shorter than D = {d_ms:g} ms")
    with ullc_faults.latency(f"gateway-dc.{world.dc}", extra_ms, stream=Stream.UPSTREAM):
        batch = ullc_calls.run(RACE_CALLS, concurrency=1, label=f"signaling +{extra_ms:g} ms")

    accounted(batch.results, expected_calls=RACE_CALLS)
    stats = batch.stats
    assert stats.p50_ms is not None
    released_by = d_ms + world.media_rtt_ms + world.pacing_ms / 2
    assert stats.p50_ms <= released_by, (
        f"RACE-3: a held check leaves the ingress when the session is stored, so p50 should "
        f"be near D + RTT_media = {d_ms:g} + {world.media_rtt_ms:g} ms; over "
        f"{released_by:g} ms means it waited for a retransmission (no hold)\n{stats.table()}"
    )
