"""Fixtures of the chaos suite: the world's numbers and the after-run accounting.

Bounds come from :class:`harness.conformance.measured.ChaosWorld`, never from numbers
written here: the topology on the reference stack, round trips measured through the
harness's own hops on a user target (TGT-7); the accounting is
:func:`harness.conformance.accounting.account` over the test's fault log
(``ullc_evidence.fault_log``, written by ``ullc_faults``).
Test modules import the types from :mod:`harness.testing`, never from this file.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.client.result import CallResult
from harness.conformance.accounting import Accountant, Accounting, assert_accounted
from harness.conformance.measured import ChaosWorld, chaos_world
from harness.conformance.skips import lacks_sessions_reason
from harness.evidence import Evidence
from harness.fixtures.target_session import RunningTarget


@pytest.fixture(scope="module")
def world(ullc_target: RunningTarget) -> ChaosWorld:
    """The client's paths and their links; chaos bounds derive from it."""
    if ullc_target.capabilities.stun_only:
        pytest.skip(lacks_sessions_reason(ullc_target))
    return chaos_world(ullc_target)


@pytest.fixture
def accounted(ullc_evidence: Evidence) -> Accountant:
    """``accounted(results, expected_calls=n, grace_s=0)``: every call connected or failed
    with a typed outcome inside a fault window that explains it; asserts, returns the
    Accounting for further checks."""

    def check(
        results: Sequence[CallResult], *, expected_calls: int, grace_s: float = 0.0
    ) -> Accounting:
        return assert_accounted(
            results, ullc_evidence.fault_log, expected_calls=expected_calls, grace_s=grace_s
        )

    return check
