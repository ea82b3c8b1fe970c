"""Fallback: gateway and edges on diverged latency maps, for every ordered pair of DCs.

For a pair (holding, pinged) the gateway's map sends every edge to ``holding``
(the session lives there) and the edges' maps send the checks to ``pinged``.
The two orders of one pair are FB-6's two directions (the gateway's map moved,
or the edge's). Maps are changed through the control API (CTL-2, CTL-3) and
put back after each test; a target without it skips (TGT-4).
"""

from __future__ import annotations

import asyncio

import pytest

from harness.client.checks import CheckStatus
from harness.conformance.session import media_address, open_probe_session, send_checks
from harness.fixtures.calls import CallRunner
from harness.fixtures.faults import Faults
from harness.fixtures.target_session import RunningTarget
from harness.plugin import target_outline

pytestmark = [pytest.mark.fallback, pytest.mark.requires_capability("latency_map_control")]

CALLS_PER_PAIR = 3


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dc_pair" not in metafunc.fixturenames:
        return
    pairs = target_outline(metafunc.config).dc_pairs()
    if not pairs:
        skip = pytest.mark.skip(reason="the target names fewer than two DCs ([control].dcs)")
        metafunc.parametrize("dc_pair", [pytest.param(None, marks=skip)], ids=["no-dc-pair"])
        return
    metafunc.parametrize("dc_pair", pairs, ids=[f"holding-{a}-pinged-{b}" for a, b in pairs])


def recovery_bound_ms(target: RunningTarget, holding: str) -> float:
    """FB-5: RTT_media + 2 x Tp + 50 ms, or the target's fallback_ms without RTT_media."""
    rtt_media = target.media_rtt_ms(holding)
    if rtt_media is None:
        return float(target.target.limits.fallback_ms)
    return rtt_media + 2 * target.target.limits.pacing_ms + 50


@pytest.mark.requirements("FB-1", "FB-2", "FB-4", "FB-5", "FB-6", "ROUTE-6")
def test_diverged_calls_connect_through_the_holding_dc(
    dc_pair: tuple[str, str],
    ullc_target: RunningTarget,
    ullc_faults: Faults,
    ullc_calls: CallRunner,
) -> None:
    holding, pinged = dc_pair
    gateway_version = ullc_faults.diverge(signaling_dc=holding, media_dc=pinged)

    batch = ullc_calls.run(CALLS_PER_PAIR, label=f"holding {holding}, pinged {pinged}")

    bound = recovery_bound_ms(ullc_target, holding)
    assert batch.stats.failed == 0, dict(batch.stats.failures)
    for result in batch.results:
        assert result.dc == holding  # FB-1: the response names the DC holding the session
        assert result.map_version == gateway_version  # ROUTE-6
        assert result.fell_back, (result.edge, result.media)  # FB-4: through media
        assert not result.bet_hit, (result.edge, result.media)  # FB-4: the bet missed
        assert result.recovery_ms is not None
        assert result.recovery_ms < bound, (result.recovery_ms, bound)  # FB-5


@pytest.mark.requirements("FB-3", "SESS-4", "STUN-44")
def test_checks_at_the_wrong_dc_never_succeed(
    dc_pair: tuple[str, str], ullc_target: RunningTarget, ullc_faults: Faults
) -> None:
    holding, pinged = dc_pair
    ullc_faults.diverge(signaling_dc=holding, media_dc=pinged)
    target = ullc_target.target

    async def probe() -> tuple[str, list[CheckStatus], list[CheckStatus]]:
        edge = await media_address(target)
        session = await open_probe_session(target, edge)
        # The edge's map sends these to `pinged`, which holds no session for them.
        wrong = await send_checks(target, session, edge)
        # The same check to the response's media address reaches `holding`: it is valid.
        right = await send_checks(target, session, session.created.media.as_tuple())
        return session.created.dc, [v.status for v in wrong], [v.status for v in right]

    created_in, wrong, right = asyncio.run(probe())

    assert created_in == holding
    assert CheckStatus.SUCCESS not in wrong, wrong
    assert CheckStatus.SUCCESS in right, right
