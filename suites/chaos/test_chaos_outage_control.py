"""Outages a target runs itself through the control API (CTL-5): a DC set down answers
nothing, calls routed to it fail typed and in time, and once it is up again calls connect.

For targets that declare ``outage_control`` and serve ``POST /control/outage`` at
``[control].dcs.<dc>``. The reference stack takes its outages from the harness, which
pauses its processes (chaos/test_chaos_outages.py), and so skips this test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from harness.client.result import CallOutcome
from harness.conformance.datagrams import exchange
from harness.conformance.session import ProbeSession, open_probe_session
from harness.conformance.signed_checks import signed_check
from harness.fixtures.calls import CallRunner
from harness.fixtures.control import set_outage
from harness.fixtures.target_session import RunningTarget
from harness.signaling.messages import ErrorCode

pytestmark = [pytest.mark.chaos, pytest.mark.requires_capability("outage_control")]

DURING_CALLS = 3
AFTER_CALLS = 4
TYPED_OUTAGE_FAILURES = {
    f"{CallOutcome.SIGNALING_ERROR.value}({code.value})"
    for code in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.INTERNAL)
} | {CallOutcome.SIGNALING_TIMEOUT.value, CallOutcome.MEDIA_TIMEOUT.value}


@pytest.fixture
def session(ullc_target: RunningTarget) -> ProbeSession:
    return asyncio.run(open_probe_session(ullc_target.target))


@pytest.fixture
def outage(ullc_target: RunningTarget, session: ProbeSession) -> Iterator[str]:
    """The DC the client's sessions land in, whose outage the test controls; set up after."""
    dc = session.created.dc
    if dc not in ullc_target.declared.control.dcs:
        pytest.skip(f"declare [control].dcs.{dc}: the outage control URL of DC {dc} (CTL-5)")
    yield dc
    set_outage(ullc_target.declared.control, dc, "up")


@pytest.mark.requirements("CTL-5", "SIG-13", "SIG-14", "FB-3")
def test_a_dc_set_down_answers_nothing_until_set_up(
    ullc_target: RunningTarget,
    session: ProbeSession,
    outage: str,
    ullc_calls: CallRunner,
) -> None:
    dc = outage
    check = signed_check(
        session.bot, session.client, sha1_password=session.bot.pwd, sha256_password=None
    )
    bind_ip = ullc_target.target.client.bind_ip
    linger_s = ullc_target.target.limits.connect_budget_ms / 1000

    def answers() -> int:
        result = asyncio.run(exchange(session.edge, [check.data] * 3, bind_ip=bind_ip,
                                      linger_s=linger_s))  # fmt: skip
        return len(result.answers_to(check.transaction_id))

    assert answers() > 0, "the live session's check was not answered before the outage"
    set_outage(ullc_target.declared.control, dc, "down")
    silent = answers()
    during = ullc_calls.run(DURING_CALLS, label=f"{dc} down (CTL-5)")
    set_outage(ullc_target.declared.control, dc, "up")
    after = ullc_calls.run(AFTER_CALLS, label=f"{dc} up again")

    assert silent == 0, f"CTL-5: {dc} is down but answered {silent} checks"
    assert during.stats.connected == 0, during.stats.table()
    assert set(during.stats.failures) <= TYPED_OUTAGE_FAILURES, during.stats.table()
    limit_ms = ullc_target.target.limits.signaling_timeout_ms + linger_s * 1000
    late = [r.response_ms for r in during.results if (r.response_ms or 0) > limit_ms]
    assert not late, f"SIG-13: answers later than {limit_ms:g} ms while {dc} was down: {late}"
    assert after.stats.failed == 0, after.stats.table()
