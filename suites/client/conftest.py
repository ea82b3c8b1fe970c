"""Fixtures of the client suite: run the client under test and read the wire.

The library does the work (:mod:`harness.client_target`); these wrap it in the plugin's
fixtures. Test modules import types from :mod:`harness.testing`, never from this file.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.client_target.command import ClientCommand
from harness.client_target.observe import (
    ClientObservation,
    ObserveClient,
    observe,
    target_file_for_client,
)
from harness.evidence import Evidence
from harness.fixtures.captures import Capture
from harness.fixtures.target_session import RunningTarget


@pytest.fixture(scope="module")
def client_target_file(
    ullc_target: RunningTarget, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    if not ullc_target.is_reference:
        pytest.skip(
            f"the client suite runs a client against the reference stack; {ullc_target.name!r} "
            "is a server under test (run the client suite with --ullc-target reference)"
        )
    return target_file_for_client(ullc_target, tmp_path_factory.mktemp("client"))


@pytest.fixture
def observe_client(
    ullc_client_command: ClientCommand,
    ullc_target: RunningTarget,
    ullc_capture: Capture,
    ullc_evidence: Evidence,
    client_target_file: Path,
) -> ObserveClient:
    """``observe_client(calls)``: run the client under test, return what it did."""
    limits = ullc_target.target.limits
    deadline_s = max(5.0, limits.signaling_timeout_ms / 1000.0 + 1.0)

    def run(calls: int) -> ClientObservation:
        began = time.monotonic()
        observation = observe(
            ullc_client_command,
            ullc_target,
            ullc_capture,
            client_target_file,
            calls=calls,
            deadline_s=deadline_s,
        )
        # The calls as the wire shows them, into the report's histogram and summary table.
        results = [call.as_result() for call in observation.calls]
        ullc_evidence.add_batch("client under test", results, started_at=began)
        return observation

    return run
