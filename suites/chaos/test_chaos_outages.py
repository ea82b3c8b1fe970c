"""Outages and slow infrastructure: Redis slow or failing, a DC paused, an edge cut, slow DNS.

A fault that makes calls fail must make them fail *typed* and *inside its window*
(SIG-12..14, STUN-32): each test runs calls while the fault is on, removes it, runs
calls again, and accounts for every one against the fault log. Faults are undone by
the ``ullc_faults`` fixture even when an assertion fails.
"""

from __future__ import annotations

import time

import pytest

from harness.client.result import CallOutcome, EventKind
from harness.conformance.accounting import p95_counting_failures
from harness.conformance.bounds import SLACK_MS, fallback_bound_ms
from harness.faults.model import Stream
from harness.faults.vocabulary import Fault, PartitionMode
from harness.fixtures.calls import CallRunner
from harness.fixtures.faults import Faults
from harness.fixtures.target_session import RunningTarget
from harness.signaling.messages import ErrorCode
from harness.testing import Accountant, ChaosWorld

pytestmark = pytest.mark.chaos

DURING_CALLS = 4
"""Calls placed while an outage is on: each may take the signaling timeout (SIG-13)."""
AFTER_CALLS = 8
"""Calls after the fault is undone: all must connect."""


def _kv_link(world: ChaosWorld) -> str:
    if world.kv_link is None:
        pytest.skip(
            "a user target's DC store is not behind a harness hop: the harness hops only the "
            "client-facing endpoints (TGT-7) and no target-file entry exposes a store, so "
            "store faults (dc-kv links) run only where the harness runs the processes"
        )
    return world.kv_link


def _expected_outage_errors() -> set[str]:
    # What a DC or store outage may be reported as (SIG-12): no DC could take it, the DC
    # did not answer in time, or the DC failed inside.
    return {
        f"{CallOutcome.SIGNALING_ERROR.value}({code.value})"
        for code in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.INTERNAL)
    } | {CallOutcome.SIGNALING_TIMEOUT.value, CallOutcome.MEDIA_TIMEOUT.value}


HEAL_SETTLE_S = 0.5
"""After an outage, how long before the "healed" calls: longer than a closed connection's
FIN takes to reach the component on loopback, far shorter than any timeout."""


@pytest.mark.requirements("SESS-2", "SESS-7", "SIG-11", "RACE-3")
def test_slow_redis_stays_under_budget(
    world: ChaosWorld,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    ullc_budget_ms: int,
    accounted: Accountant,
) -> None:
    # Every store and every lookup waits one extra KV round trip of 2 x (this) ms.
    slow_ms = world.pacing_ms
    with ullc_faults.latency(_kv_link(world), slow_ms, stream=Stream.BOTH):
        batch = ullc_calls.run(label=f"redis +{slow_ms:g} ms each way")

    accounted(batch.results, expected_calls=batch.stats.calls)
    assert p95_counting_failures(batch.results) < ullc_budget_ms, batch.stats.table()
    # The store sits on the critical path (SIG-11): connect pays at least one KV round trip.
    assert batch.stats.p50_ms is not None
    assert batch.stats.p50_ms >= world.rtt_floor_ms + 2 * slow_ms, batch.stats.table()


@pytest.mark.parametrize("how", ["partition", "reset"])
@pytest.mark.requirements("SIG-12", "SIG-13", "SIG-14", "SESS-2", "STUN-32")
def test_failing_redis_fails_calls_typed_and_recovers(
    how: str,
    world: ChaosWorld,
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # Nothing can store a session: every call during the fault fails, as SIG-12 names it.
    link = _kv_link(world)
    fault = ullc_faults.partition(link) if how == "partition" else ullc_faults.reset(link)
    _outage_fails_typed_then_heals(fault, f"redis {how}", world, ullc_target, ullc_calls, accounted)


@pytest.mark.requirements("SIG-12", "SIG-13", "SIG-14", "STUN-32", "CTL-5")
def test_dc_paused_fails_calls_typed_and_resumed_dc_serves(
    world: ChaosWorld,
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # The reference stack pauses the DC's processes; a user target takes it down through
    # CTL-5 at [control].dcs.<dc> when it declares outage_control.
    if not ullc_target.is_reference and not ullc_target.capabilities.outage_control:
        pytest.skip(
            f"target {ullc_target.name!r} lacks capability outage_control (TGT-4): declare "
            "outage_control = true and serve POST /control/outage at [control].dcs.<dc> (CTL-5)"
        )
    _outage_fails_typed_then_heals(
        ullc_faults.outage(world.dc), f"{world.dc} paused", world, ullc_target, ullc_calls,
        accounted,
    )  # fmt: skip


def _outage_fails_typed_then_heals(
    fault: Fault,
    label: str,
    world: ChaosWorld,
    ullc_target: RunningTarget,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    """During ``fault`` every call fails with a typed error answered in time; after it,
    every call connects again."""
    with fault:
        during = ullc_calls.run(DURING_CALLS, label=label)
    # Removing a partition closes the connections it held, as Toxiproxy's does; a call
    # placed in the same instant may meet one of them before its close arrives. "Heals"
    # means the calls after that connect, not the one racing the close.
    time.sleep(HEAL_SETTLE_S)
    after = ullc_calls.run(AFTER_CALLS, label=f"{label}, healed")

    accounted([*during.results, *after.results], expected_calls=DURING_CALLS + AFTER_CALLS)
    assert during.stats.connected == 0, during.stats.table()
    assert set(during.stats.failures) <= _expected_outage_errors(), during.stats.table()
    # SIG-13: the gateway answers within its timeout even though the DC cannot serve. The
    # client sees that answer one client-gateway round trip after the gateway's clock
    # started, plus the fixed allowance the other bounds give (SLACK_MS); timed from
    # the request's send, since DNS comes first (SIG-5).
    limit_ms = (
        ullc_target.target.limits.signaling_timeout_ms + 2 * world.client_gateway_ms + SLACK_MS
    )
    waited = [r.signaling_ms for r in during.results]
    late = [ms for ms in waited if ms is not None and ms > limit_ms]
    assert not late, f"SIG-13: answers later than {limit_ms:g} ms after the request: {late}"
    assert after.stats.failed == 0, after.stats.table()


@pytest.mark.requirements("FB-1", "FB-2", "FB-4", "FB-5")
def test_routed_edge_port_partitioned_falls_back_within_bound(
    world: ChaosWorld,
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # The checks to the routed port vanish; session.created's media address (the edge's
    # port pinned to the DC, or the DC's own address: FB-1) is another link and still
    # carries them.
    with ullc_faults.partition(world.media_link):
        batch = ullc_calls.run(label="routed edge port cut")

    accounted(batch.results, expected_calls=batch.stats.calls)
    # FB-5: RTT_media + 2 Tp + 50 ms where RTT_media is known, else the target's fallback_ms.
    bound_ms = (
        float(ullc_target.target.limits.fallback_ms)
        if world.fallback_rtt_ms is None
        else fallback_bound_ms(world.fallback_rtt_ms, world.pacing_ms)
    )
    stats = batch.stats
    assert stats.failed == 0, stats.table()
    assert stats.fallbacks == stats.calls, stats.table()
    recoveries = sorted(r.recovery_ms for r in batch.results if r.recovery_ms is not None)
    assert len(recoveries) == stats.calls
    p95_recovery = recoveries[-(-95 * len(recoveries) // 100) - 1]
    assert p95_recovery <= bound_ms, (
        f"FB-5 bound RTT_media + 2 Tp + 50 = {bound_ms:g} ms, p95 recovery {p95_recovery:.1f} ms"
    )


@pytest.mark.requirements("SIG-14", "STUN-32", "FB-3")
def test_edge_partitioned_fails_calls_typed_and_healed_edge_serves(
    world: ChaosWorld,
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    accounted: Accountant,
) -> None:
    # Every link media can take: the edge's routed and pinned ports and its DC links (on
    # a user target, the hops in front of the edge and of the fallback media addresses).
    faults = [ullc_faults.partition(name, PartitionMode.BLACKHOLE) for name in world.edge_links]
    during = ullc_calls.run(DURING_CALLS, label=f"{world.edge} partitioned")
    for fault in reversed(faults):
        fault.remove()
    after = ullc_calls.run(AFTER_CALLS, label=f"{world.edge} healed")

    accounted([*during.results, *after.results], expected_calls=DURING_CALLS + AFTER_CALLS)
    # Signaling still works, media has no way in: the call deadline ends each call typed.
    assert during.stats.connected == 0, during.stats.table()
    assert set(during.stats.failures) == {CallOutcome.MEDIA_TIMEOUT.value}, during.stats.table()
    assert after.stats.failed == 0, after.stats.table()


@pytest.mark.requirements("SIG-5", "RACE-1", "SIG-14")
def test_slow_dns_stays_under_budget(
    world: ChaosWorld,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
    ullc_budget_ms: int,
    accounted: Accountant,
) -> None:
    # A slow resolver delays both paths alike: checks and session.create wait for the
    # edge IP (SIG-5), so a call that asks the resolver shifts by the extra DNS round trip.
    # A client reuses the answer while its TTL lasts (SIG-5), so only first calls ask.
    extra_ms = 2 * world.pacing_ms
    with ullc_faults.latency("client-dns", extra_ms, stream=Stream.BOTH):
        batch = ullc_calls.run(label=f"dns +{extra_ms:g} ms each way")

    accounted(batch.results, expected_calls=batch.stats.calls)
    assert p95_counting_failures(batch.results) < ullc_budget_ms, batch.stats.table()
    asked = [r for r in batch.results if any(e.kind is EventKind.DNS_SENT for e in r.timeline)]
    assert asked, "no call asked the resolver: the fault was never exercised"
    dns_rtt = 2 * (world.client_dns_ms + extra_ms)
    floor_ms = world.rtt_floor_ms + dns_rtt
    too_fast = [r.connect_ms for r in asked if (r.connect_ms or 0) < floor_ms]
    assert not too_fast, f"calls that asked DNS connected under {floor_ms:g} ms: {too_fast}"
