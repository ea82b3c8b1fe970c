"""Fixtures of the chaos suite: the emulated world's numbers and the after-run accounting.

Bounds come from the topology through :class:`harness.conformance.bounds.World`, never
from numbers written here; the accounting is :func:`harness.conformance.accounting.account`
over the test's fault log (``ullc_evidence.fault_log``, written by ``ullc_faults``).
Test modules import the types from :mod:`harness.testing`, never from this file.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.client.result import CallResult
from harness.conformance.accounting import Accountant, Accounting, assert_accounted
from harness.conformance.bounds import World
from harness.evidence import Evidence
from harness.fixtures.target_session import RunningTarget


@pytest.fixture(scope="module")
def world(ullc_target: RunningTarget) -> World:
    """The client's paths in the reference world (TOPO-2); chaos bounds derive from it."""
    if ullc_target.topology is None:
        pytest.skip(
            f"target {ullc_target.name!r} has no topology: the chaos bounds are computed from "
            "the reference stack's links (TGT-6); run with --ullc-target reference"
        )
    return World.from_topology(ullc_target.topology, ullc_target.target.limits)


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
