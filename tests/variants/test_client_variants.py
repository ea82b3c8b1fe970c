"""The client suite catches the two known-bad clients (issue 16), and passes the good one.

Each run is the user's own command line: ``pytest suites/client --ullc-client-command
...`` in a fresh process, with the reference client made bad on purpose by its flags:
``--mode sequential`` waits for the signaling answer before its first check (CLI-3),
``--plain-stun`` leaves a lost check to RFC 8489's 500 ms timeout (CLI-7).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SUITE = "suites/client/test_client.py"
TOGETHER = f"{SUITE}::test_checks_and_session_create_leave_together"
PACED = f"{SUITE}::test_unanswered_checks_are_paced_not_left_to_a_retransmission_timeout"
CLIENT = f"{sys.executable} -m harness call --target {{target}}"


def _client_suite(command: str, *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *tests, "-p", "no:cacheprovider", "-q",
         "--ullc-client-command", command],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip


def _failed(run: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split()[1] for line in run.stdout.splitlines() if line.startswith("FAILED ")}


@pytest.mark.parametrize(
    ("flags", "caught_by", "evidence"),
    [
        pytest.param("--mode sequential", TOGETHER, "(CLI-3)", id="sequential"),
        pytest.param("--plain-stun", PACED, "(CLI-7, STUN-30)", id="plain-stun"),
    ],
)
def test_a_known_bad_client_fails_the_named_test(flags: str, caught_by: str, evidence: str) -> None:
    run = _client_suite(f"{CLIENT} {flags}", TOGETHER, PACED)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert _failed(run) == {caught_by}, output[-3000:]
    assert evidence in output, output[-3000:]


def test_the_reference_client_passes_the_whole_client_suite_one_call_per_process() -> None:
    run = _client_suite(CLIENT, SUITE)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "7 passed, 1 skipped" in output, output[-3000:]  # DNS reuse needs {calls}
