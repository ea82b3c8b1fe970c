"""Fixtures of the client suite: run the client under test and read the wire.

The library does the work (:mod:`harness.client_target`); these wrap it in the plugin's
fixtures. Test modules import types from :mod:`harness.testing`, never from this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.client_target.command import ClientCommand
from harness.client_target.observe import (
    ClientObservation,
    ObserveClient,
    observe,
    target_file_for_client,
)
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
    client_target_file: Path,
) -> ObserveClient:
    """``observe_client(calls)``: run the client under test, return what it did."""
    limits = ullc_target.target.limits
    deadline_s = max(5.0, limits.signaling_timeout_ms / 1000.0 + 1.0)

    def run(calls: int) -> ClientObservation:
        observation = observe(
            ullc_client_command,
            ullc_target,
            ullc_capture,
            client_target_file,
            calls=calls,
            deadline_s=deadline_s,
        )
        return observation

    return run
