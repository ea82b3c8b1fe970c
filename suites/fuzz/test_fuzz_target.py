"""Fuzzing the target: hostile datagrams, malformed session requests, call and fault sequences.

Strategies live in :mod:`harness.fuzz.strategies` and the state machine in
:mod:`harness.fuzz.stateful`; these tests only point them at the running target.
Every Hypothesis run is seeded with the test's seed (``--ullc-seed`` replays it).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from harness.conformance.datagrams import exchange
from harness.conformance.session import ProbeSession, media_address
from harness.conformance.signaling import RawAnswer, SignalingProbe, valid_request
from harness.evidence import Evidence
from harness.fixtures.calls import ClientHandle
from harness.fixtures.faults import Faults
from harness.fixtures.target_session import RunningTarget
from harness.fuzz.stateful import STATEFUL_EXAMPLES, Ledger, call_fault_machine, fuzz_settings
from harness.fuzz.strategies.datagrams import FuzzDatagram, hostile_datagrams
from harness.fuzz.strategies.signaling import MalformedRequest, malformed_requests
from harness.testing import FixtureWorld, chaos_world, is_success

pytestmark = pytest.mark.fuzz


@pytest.mark.requirements("STUN-40", "STUN-41", "STUN-43", "STUN-44", "STUN-45", "SESS-5")
def test_hostile_datagrams_never_earn_a_success_and_calls_still_connect(
    ullc_target: RunningTarget,
    ullc_client: ClientHandle,
    ullc_seed: int,
    fuzz_profile: str,
    fuzz_session: ProbeSession,
    answer_linger_s: float,
    ullc_budget_ms: int,
) -> None:
    batches = st.lists(hostile_datagrams(fuzz_session.bot, fuzz_session.client), min_size=1,
                       max_size=8)  # fmt: skip
    seen: list[int] = []

    @seed(ullc_seed)
    @settings(fuzz_settings(fuzz_profile))
    @given(batch=batches)
    def batch_is_harmless(batch: list[FuzzDatagram]) -> None:
        result = asyncio.run(
            exchange(fuzz_session.edge, [d.data for d in batch], pacing_s=0.002,
                     bind_ip=ullc_target.target.client.bind_ip, linger_s=answer_linger_s)
        )  # fmt: skip
        successes = [a for a in result.answers if is_success(a.data)]
        assert not successes, (
            f"a hostile datagram was answered with a success: {[d.how for d in batch]}"
        )
        # After each batch the target still serves a real call, under budget.
        health = ullc_client.connect()
        assert health.connected, health.detail
        assert health.connect_ms is not None
        assert health.connect_ms < ullc_budget_ms
        seen.append(len(batch))

    batch_is_harmless()
    assert seen, "Hypothesis ran no example"


@pytest.mark.requirements("SIG-6", "SIG-12", "SIG-1", "SIG-3")
def test_malformed_session_requests_get_errors_and_the_connection_stays_usable(
    ullc_target: RunningTarget, ullc_seed: int, fuzz_profile: str
) -> None:
    if ullc_target.capabilities.stun_only:
        pytest.skip(f"target {ullc_target.name!r} lacks capability ullc: it is stun_only (TGT-5)")
    edge_ip = asyncio.run(media_address(ullc_target.target))[0]
    seen: list[str] = []

    async def exchange_pair(frame: str | bytes) -> tuple[RawAnswer, RawAnswer]:
        async with SignalingProbe(ullc_target.target) as probe:
            bad = await probe.send(frame)
            good = await probe.send(valid_request(ullc_target.target, edge_ip))
        return bad, good

    @seed(ullc_seed)
    @settings(fuzz_settings(fuzz_profile))
    @given(request=malformed_requests(edge_ip=edge_ip))
    def gateway_survives(request: MalformedRequest) -> None:
        bad, good = asyncio.run(exchange_pair(request.frame))
        assert bad.well_formed, (request.how, bad.text, bad.violations)
        assert bad.type == "error", (request.how, bad.text)
        assert bad.code == "bad_request", (request.how, bad.text)
        if request.field is not None:
            assert request.field in bad.message, (request.how, bad.message)
        sent_id = _request_id(request.frame)
        assert bad.request_id in (None, sent_id), (request.how, bad.text)
        # One bad frame never costs the connection (SIG-1) nor the next call (SIG-12).
        assert good.type == "session.created", (request.how, good.text)
        seen.append(request.how)

    gateway_survives()
    assert seen, "Hypothesis ran no example"


def _request_id(frame: str | bytes) -> object:
    try:
        body = json.loads(frame)
    except ValueError:
        return None
    return body.get("request_id") if isinstance(body, dict) else None


@pytest.mark.requires_capability("latency_map_control")
@pytest.mark.requirements("SIG-14", "STUN-45", "SESS-5", "ROUTE-7", "FB-2", "RACE-2")
def test_call_and_fault_sequences_keep_the_invariants(
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_client: ClientHandle,
    ullc_evidence: Evidence,
    ullc_seed: int,
    fuzz_profile: str,
    fuzz_session: ProbeSession,
    ullc_budget_ms: int,
) -> None:
    if not ullc_target.is_reference and not ullc_target.capabilities.outage_control:
        pytest.skip(
            f"target {ullc_target.name!r} lacks capability outage_control (TGT-4): the machine "
            "takes DCs down; declare outage_control = true and serve POST /control/outage at "
            "[control].dcs.<dc> (CTL-5)"
        )
    chaos = chaos_world(ullc_target)
    dcs = (
        list(ullc_target.topology.dcs)
        if ullc_target.topology is not None
        else sorted(ullc_target.declared.control.dcs)
    )
    # UDP: the client's media links; TCP: the signaling link and (reference) the DC's store.
    tcp_links = [chaos.signaling_link] + ([chaos.kv_link] if chaos.kv_link else [])
    world = FixtureWorld(
        running=ullc_target,
        faults=ullc_faults,
        handle=ullc_client,
        evidence=ullc_evidence,
        probe=fuzz_session,
        budget_ms=float(ullc_budget_ms),
        udp_links=(
            list(chaos.access_links)
            if chaos.measured
            else [chaos.media_link, f"edge-dc.{chaos.edge}.{chaos.dc}"]
        ),
        tcp_links=tcp_links,
        dcs=dcs,
    )
    ledger = Ledger()
    machine = call_fault_machine(world, ledger)
    machine_settings = settings(
        fuzz_settings(fuzz_profile), max_examples=STATEFUL_EXAMPLES[fuzz_profile]
    )
    try:
        try:
            # @seed on the machine class is what run_state_machine_as_test reads.
            seeded = seed(ullc_seed)(machine)
            run_state_machine_as_test(seeded, settings=machine_settings)  # type: ignore[no-untyped-call]
        finally:
            world.close()
    except Flaky:
        # A failure that did not recur on replay: the calls themselves are the report.
        assert not ledger.violations, "\n".join(ledger.violations)
        raise

    assert ledger.calls, f"the machine placed no call in {len(ledger.steps)} steps"
    # Hypothesis discards a failure in a sequence it abandons, and reports one that did not
    # recur on replay as FlakyFailure: every sequence's record is judged here too.
    assert not ledger.violations, "\n".join(ledger.violations)
