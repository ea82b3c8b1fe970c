"""A client under test, judged on the wire (specs/client.md).

Run with ``--ullc-client-command 'YOUR-CLIENT {target}'``; without it every test skips.
The harness starts the reference stack with a hop on every client link, runs the client
and reads what crossed the hops; the client's own report counts only as its exit status.
"""

from __future__ import annotations

import itertools
import statistics

import pytest

from harness.protocol.stun_integrity import short_term_key
from harness.protocol.stun_message import verify_integrity
from harness.testing import ClientObservation, Faults, ObserveClient, RunningTarget, WireCall

pytestmark = pytest.mark.client

CALLS = 3
"""Calls per observation: enough to see a client keep its habits across calls."""


def _connected_calls(observation: ClientObservation, expected: int) -> list[WireCall]:
    assert observation.succeeded, observation.describe()
    calls = observation.calls
    assert len(calls) == expected, (
        f"expected {expected} calls on the wire, saw {len(calls)}\n{observation.describe()}"
    )
    unconnected = [call.bot_ufrag for call in calls if call.connected_at is None]
    assert not unconnected, f"no authentic success reached the client for {unconnected}"
    return calls


def _pacing_s(target: RunningTarget) -> float:
    return target.target.limits.pacing_ms / 1000.0


@pytest.mark.requirements("CLI-3", "SIG-5", "RACE-1")
def test_checks_and_session_create_leave_together(
    observe_client: ObserveClient, ullc_target: RunningTarget
) -> None:
    tp = _pacing_s(ullc_target)
    calls = _connected_calls(observe_client(CALLS), CALLS)
    for call in calls:
        assert call.create is not None, f"call {call.bot_ufrag}: no session.create seen"
        assert call.checks, f"call {call.bot_ufrag}: no check seen"
        gap = abs(call.create.t - call.checks[0].t)
        # The bound only means something when every answer takes longer than Tp: a client
        # that waited for one would then be caught by it.
        assert call.response is not None
        assert call.response.t - call.create.t > tp, "the world answers signaling within Tp"
        assert gap <= tp, (
            f"call {call.bot_ufrag}: session.create and the first check left "
            f"{gap * 1000:.1f} ms apart, more than Tp = {tp * 1000:.0f} ms: one waited for "
            "the other's answer (CLI-3)"
        )


@pytest.mark.requirements("CLI-6", "SIG-4", "STUN-21", "STUN-10")
def test_checks_carry_the_credentials_and_edge_of_their_session_create(
    observe_client: ObserveClient,
) -> None:
    for call in _connected_calls(observe_client(CALLS), CALLS):
        assert call.create is not None
        body = call.create.body
        client_ufrag = body.get("client", {}).get("ice_ufrag")
        bot = body.get("bot") or {}
        if body.get("mode") == "sequential":
            continue  # SIG-9: the bot's credentials come from the response; nothing to match
        expected = f"{bot.get('ice_ufrag')}:{client_ufrag}"
        key = short_term_key(str(bot.get("ice_pwd")))
        for check in call.checks:
            assert check.message.username == expected, (
                f"a check carries USERNAME {check.message.username!r}, its session.create "
                f"says {expected!r} (STUN-21)"
            )
            assert verify_integrity(check.message, key) is True, (
                "a check's MESSAGE-INTEGRITY does not verify with the bot.ice_pwd of its "
                "session.create (STUN-10, SIG-4)"
            )
        first_ip = call.checks[0].destination.rsplit(":", 1)[0]
        assert body.get("edge_ip") == first_ip, (
            f"session.create says edge_ip {body.get('edge_ip')!r}, the first check went to "
            f"{first_ip} (SIG-4)"
        )


@pytest.mark.requirements("CLI-7", "STUN-30")
def test_unanswered_checks_are_paced_not_left_to_a_retransmission_timeout(
    observe_client: ObserveClient, ullc_target: RunningTarget, ullc_faults: Faults
) -> None:
    tp = _pacing_s(ullc_target)
    # Answers held back well past the first 0.5 s: the client must keep pacing meanwhile.
    for link in ullc_target.link_addresses:
        if link.startswith("client-edge"):
            ullc_faults.latency(link, 700)
    calls = _connected_calls(observe_client(2), 2)
    for call in calls:
        first = call.checks[0]
        window_end = min(first.t + 0.5, call.connected_at or first.t + 0.5)
        sends = [c.t for c in call.checks if c.destination == first.destination]
        sends = [t for t in sends if t <= window_end]
        gaps = [later - earlier for earlier, later in itertools.pairwise(sends)]
        gaps.append(window_end - sends[-1])  # silence up to the window's end counts too
        assert max(gaps) <= 1.5 * tp, (
            f"call {call.bot_ufrag}: unanswered checks {max(gaps) * 1000:.0f} ms apart in the "
            f"first 0.5 s, more than 1.5 Tp = {1.5 * tp * 1000:.0f} ms: a lost check would "
            "cost a retransmission timeout, not a pacing interval (CLI-7, STUN-30)"
        )


@pytest.mark.requirements("CLI-8", "FB-2")
def test_a_fallback_response_retargets_the_checks_within_one_pacing_interval(
    observe_client: ObserveClient, ullc_target: RunningTarget, ullc_faults: Faults
) -> None:
    if not ullc_target.capabilities.latency_map_control:
        pytest.skip("diverging the routes needs latency_map_control (CTL-3)")
    tp = _pacing_s(ullc_target)
    dcs = sorted(ullc_target.target.control.dcs)
    media_dc, signaling_dc = dcs[0], dcs[1]
    ullc_faults.diverge(signaling_dc=signaling_dc, media_dc=media_dc)
    for call in _connected_calls(observe_client(CALLS), CALLS):
        assert call.response is not None, f"call {call.bot_ufrag}: no session.created seen"
        media = call.media_address()
        assert media is not None
        first_destination = call.checks[0].destination
        if first_destination == media:
            continue  # a sequential client pings the media address from the start
        retargeted = call.checks_to(media)
        assert retargeted, (
            f"call {call.bot_ufrag}: the response named media {media}, no check went there"
        )
        delay = retargeted[0].t - call.response.t
        assert delay <= tp, (
            f"call {call.bot_ufrag}: first check to the media address {delay * 1000:.0f} ms "
            f"after the response reached the client, more than Tp = {tp * 1000:.0f} ms (CLI-8)"
        )


@pytest.mark.requirements("CLI-9", "STUN-30", "FB-5")
def test_calls_connect_under_budget_with_loss_and_latency(
    observe_client: ObserveClient,
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_budget_ms: int,
) -> None:
    for link in ullc_target.link_addresses:
        if link.startswith("client-edge"):
            ullc_faults.loss(link, 0.05)
    ullc_faults.latency("client-gateway", 30)
    calls = _connected_calls(observe_client(8), 8)
    latencies = sorted(call.connect_ms or 0.0 for call in calls)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[-1]
    assert p95 < ullc_budget_ms, (
        f"p95 connect latency {p95:.0f} ms on the wire over {len(calls)} calls, budget "
        f"{ullc_budget_ms} ms: {[round(x) for x in latencies]} (CLI-9)"
    )


@pytest.mark.requirements("CLI-5", "SIG-5")
def test_dns_answer_is_reused_while_its_ttl_lasts(
    observe_client: ObserveClient, ullc_client_command: object
) -> None:
    if "{calls}" not in getattr(ullc_client_command, "template", ""):
        pytest.skip(
            "the client command places one call per process; reuse across calls (CLI-5) "
            "needs '{calls}' in --ullc-client-command"
        )
    observation = observe_client(CALLS)
    _connected_calls(observation, CALLS)
    assert len(observation.wire.dns_queries) <= 1, (
        f"{len(observation.wire.dns_queries)} DNS queries for {CALLS} calls within the "
        "answer's TTL (CLI-5)"
    )


@pytest.mark.requirements("CLI-4", "SIG-2")
def test_the_gateway_connection_is_open_before_the_call_starts(
    observe_client: ObserveClient, ullc_client_command: object
) -> None:
    observation = observe_client(CALLS)
    calls = _connected_calls(observation, CALLS)
    opened = [t for t, _client in observation.wire.gateway_connections]
    for call in calls:
        during = [t for t in opened if call.started_at < t <= (call.connected_at or t)]
        assert not during, (
            f"call {call.bot_ufrag}: a gateway connection was opened while the call ran: "
            "the call paid for a TCP and WebSocket handshake (CLI-4, SIG-2)"
        )
    if "{calls}" in getattr(ullc_client_command, "template", ""):
        assert len(opened) == 1, f"{len(opened)} gateway connections for {CALLS} calls (CLI-4)"


@pytest.mark.requirements("CLI-2")
def test_the_client_sends_from_its_regions_address(
    observe_client: ObserveClient, ullc_target: RunningTarget
) -> None:
    observation = observe_client(1)
    _connected_calls(observation, 1)
    bind_ip = ullc_target.target.client.bind_ip
    sources = {
        check.source.rsplit(":", 1)[0] for call in observation.calls for check in call.checks
    }
    sources |= {query.source.rsplit(":", 1)[0] for query in observation.wire.dns_queries}
    sources |= {client.rsplit(":", 1)[0] for _t, client in observation.wire.gateway_connections}
    assert sources == {bind_ip}, (
        f"the client sent from {sorted(sources)}, not only from [client].bind_ip {bind_ip}: "
        "the routing bet and DNS answer depend on the source address (CLI-2)"
    )
