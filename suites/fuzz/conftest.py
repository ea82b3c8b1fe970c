"""Fixtures of the fuzz suite: the Hypothesis profile, a probe session, the stateful world.

Depth comes from the Hypothesis profile: ``ullc-fuzz`` (default, a few examples) or
``ullc-deep``, selected with ``-p harness.fuzz.stateful --hypothesis-profile ullc-deep``
(the ``-p`` registers the profiles before Hypothesis loads one). The stateful world
is :class:`harness.fuzz.world.FixtureWorld` (exported by :mod:`harness.testing`).
Every Hypothesis run is seeded with the test's ``ullc_seed``, so the replay command
the plugin prints for a failing test (``--ullc-seed N``) draws the same examples again.
"""

from __future__ import annotations

import asyncio

import pytest

from harness.conformance.session import ProbeSession, open_probe_session
from harness.fixtures.target_session import RunningTarget
from harness.fuzz.stateful import DEEP_PROFILE, FUZZ_PROFILE


@pytest.fixture(scope="session")
def fuzz_profile(pytestconfig: pytest.Config) -> str:
    chosen = pytestconfig.getoption("hypothesis_profile", None)
    return DEEP_PROFILE if chosen == DEEP_PROFILE else FUZZ_PROFILE


@pytest.fixture(scope="module")
def fuzz_session(ullc_target: RunningTarget) -> ProbeSession:
    if ullc_target.capabilities.stun_only:
        pytest.skip(f"target {ullc_target.name!r} lacks capability ullc: it is stun_only (TGT-5)")
    return asyncio.run(open_probe_session(ullc_target.target))


@pytest.fixture(scope="module")
def answer_linger_s(ullc_target: RunningTarget) -> float:
    """Long enough for any answer to come back: the round trip plus a margin (TOPO-4)."""
    rtt_ms = ullc_target.client_dc_rtt_ms or float(ullc_target.target.limits.connect_budget_ms)
    return rtt_ms / 1000.0 + 0.15
