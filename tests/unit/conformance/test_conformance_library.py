"""harness.conformance against real loopback peers: crafting agrees with the executable
rules, judging catches a responder that breaks them, accounting finds unexplained failures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict

import pytest

from harness.client.result import CallOutcome, CallResult, EventKind, TimelineEvent
from harness.conformance.accounting import account, fault_windows, p95_counting_failures
from harness.conformance.bounds import World, fallback_bound_ms, race_bound_ms
from harness.conformance.crafting import EXPECTATIONS, Reply, Variant, craft
from harness.conformance.datagrams import exchange_sync
from harness.conformance.judging import judge
from harness.conformance.measured import ChaosWorld
from harness.faults.log import FaultAction, FaultLog
from harness.protocol.ice import build_binding_success, generate_credentials
from harness.protocol.ice_responder import Outcome, decide
from harness.signaling.messages import Mode
from harness.stack.topology import default_topology
from harness.target.model import Limits

BOT, CLIENT = generate_credentials(), generate_credentials()
SESSION_VARIANTS = [v for v in Variant if v is not Variant.PLAIN_BINDING]


def lookup(ufrag: str) -> str | None:
    return BOT.pwd if ufrag == BOT.ufrag else None


@pytest.mark.parametrize("variant", SESSION_VARIANTS, ids=lambda v: v.name.lower())
def test_expectations_agree_with_the_executable_rules(variant: Variant) -> None:
    crafted = craft(variant, BOT, CLIENT)
    decision = decide(crafted.data, ("127.0.0.1", 5000), lookup)
    if decision.outcome is Outcome.DISCARD:
        got = Reply.SILENCE
    elif decision.error_code is None:
        got = Reply.SUCCESS
    else:
        got = Reply.of_error(decision.error_code)
    assert got in crafted.expectation.accepted, (decision, crafted.expectation)
    assert decision.requirement in crafted.expectation.requirements


class Responder:
    """A UDP peer answering with ``decide`` (conformant) or a success to anything (broken)."""

    def __init__(self, *, broken: bool) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.broken = broken
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return (str(host), int(port))

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, source = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            if self.broken and len(data) >= 20:
                self.sock.sendto(
                    build_binding_success(data, password=BOT.pwd, mapped=source), source
                )
                continue
            decision = decide(data, source, lookup)
            if decision.response is not None:
                self.sock.sendto(decision.response, source)


@pytest.fixture(params=[False, True], ids=["conformant", "broken"])
def responder(request: pytest.FixtureRequest) -> Iterator[Responder]:
    peer = Responder(broken=request.param)
    peer.thread.start()
    try:
        yield peer
    finally:
        peer.stop.set()
        peer.thread.join()
        peer.sock.close()


@pytest.mark.parametrize("variant", [Variant.VALID, Variant.BAD_INTEGRITY, Variant.UNKNOWN_UFRAG])
def test_judge_passes_the_rules_and_catches_a_responder_that_breaks_them(
    responder: Responder, variant: Variant
) -> None:
    crafted = craft(variant, BOT, CLIENT)
    result = exchange_sync(responder.address, [crafted.data], linger_s=0.2)

    verdict = judge(crafted, result, password=BOT.pwd, observed=[result.local])

    if responder.broken and variant is not Variant.VALID:
        assert not verdict.ok
        assert verdict.reply is Reply.SUCCESS
    else:
        assert verdict.ok, verdict.explain()
        assert verdict.reply in EXPECTATIONS[variant].accepted


def _failed(start: float, outcome: CallOutcome = CallOutcome.MEDIA_TIMEOUT) -> CallResult:
    return CallResult(
        outcome=outcome,
        mode=Mode.ULLC,
        detail="no success before the deadline",
        started_at=start,
        timeline=(TimelineEvent(EventKind.FAILED, 500.0),),
    )


def test_accounting_explains_failures_inside_windows_only() -> None:
    log = FaultLog(seed=1)
    log._events = []
    log.record("loss", "client-edge.edge-us", FaultAction.APPLIED, {"p": 1})
    applied = log.events[-1].t
    log.record("loss", "client-edge.edge-us", FaultAction.REMOVED, {"p": 1})
    removed = log.events[-1].t
    [window] = fault_windows(log)
    assert (window.start, window.end) == (applied, removed)

    inside = _failed(applied)
    outside = _failed(removed + 10.0)
    protocol = _failed(applied, CallOutcome.PROTOCOL_ERROR)
    verdict = account([inside, outside, protocol], log, expected_calls=4)

    assert [e.result for e in verdict.explained] == [inside]
    # Outside every window, and a protocol error no fault excuses: both unexplained.
    assert verdict.unexplained == (outside, protocol)
    assert verdict.lost == 1
    assert not verdict.ok


def test_p95_counts_failures_as_infinitely_slow() -> None:
    assert p95_counting_failures([_failed(0.0)] * 19 + [_failed(0.0)]) == float("inf")


def test_bounds_follow_the_spec_formulas_over_the_default_world() -> None:
    world = World.from_topology(default_topology(), Limits())
    # TOPO-10: client-edge 20 + edge-DC 30 ms one way, signaling path as long.
    assert world.media_rtt_ms == 100.0
    assert world.signaling_lag_ms() == 0.0
    assert world.signaling_lag_ms(100.0) == 100.0
    assert world.race_bound_ms(100.0) == race_bound_ms(100.0, 100.0, 50.0) == 300.0
    assert fallback_bound_ms(100.0, 50.0) == 250.0


def test_race_bound_uses_the_pacing_interval_in_force_at_d() -> None:  # RACE-4, STUN-30
    # Tp for the first 0.5 s of pacing; then STUN-30's back-off (sends at 550, 750 ms...).
    assert race_bound_ms(400.0, 100.0, 50.0) == 400 + 100 + 50 + 50
    assert race_bound_ms(500.0, 100.0, 50.0) == 500 + 100 + 100 + 50
    assert race_bound_ms(600.0, 100.0, 50.0) == 600 + 100 + 200 + 50
    assert race_bound_ms(5000.0, 100.0, 50.0) == 5000 + 100 + 200 + 50


def test_a_measured_worlds_race_lag_is_read_per_call_and_never_below_the_nominal() -> None:
    base = asdict(World.from_topology(default_topology(), Limits()))
    measured = ChaosWorld(**base, measured=True, signaling_rtt_ms=2.0)
    # D's upper end: the added delay plus the measured signaling round trip...
    assert measured.call_signaling_lag_ms(400.0, None) == 402.0
    assert measured.call_signaling_lag_ms(400.0, 380.0) == 402.0
    # ... or, when this call's session.created came later, that answer's time (SIG-11).
    assert measured.call_signaling_lag_ms(400.0, 564.5) == 564.5
    # The reference world's D comes from its topology, whatever one call saw.
    reference = ChaosWorld(**base, measured=False)
    assert reference.call_signaling_lag_ms(100.0, 564.5) == reference.signaling_lag_ms(100.0)
