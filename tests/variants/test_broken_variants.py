"""Each deliberately broken reference stack is caught by a suite test (issue 5).

For every :class:`~harness.stack.defects.Defect` the table names the suite test
that should catch it. Each catch runs that test in a fresh ``pytest`` process,
exactly as a user would, against a stack started with the defect through
``ULLC_REFERENCE_DEFECTS`` (no plugin change), and asserts that it fails for the
defect's reason. One more run shows the same tests pass against the clean stack,
so a catch is the defect's doing and not a broken test.

A defect no suite test catches is listed with ``uncaught``: a strict xfail that
names the requirement lacking a test, and turns into a failure the day a suite
test starts catching it (then move it to the table).

Each run starts its own stack (about 1.5 s) plus pytest's start-up, so the
module is marked ``slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.stack.defects import DEFECTS_ENV, Defect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HAPPY = "suites/happy_path/test_happy_path.py"
STUN = "suites/conformance/test_conformance_stun.py"
SIGNALING = "suites/conformance/test_conformance_signaling.py"
RACE = "suites/chaos/test_chaos_race.py"
PACING_TEST = (
    "suites/chaos/test_chaos_media.py"
    "::test_lost_checks_cost_pacing_intervals_not_retransmission_timeouts"
)
RUN_TIMEOUT_S = 300


@dataclass(frozen=True)
class Catch:
    defect: Defect
    test: str
    """The suite test (node id) that must fail against the defect."""
    evidence: str
    """Text of that failure that shows it failed for the defect's reason."""
    uncaught: str | None = None
    """Why no suite test catches it yet: the requirement that lacks a test."""


CATCHES = [
    Catch(
        Defect.GATEWAY_ON_OTHER_MAP,
        f"{HAPPY}::test_routing_bet_hits_every_call_with_one_map",
        "hit_rate=0.0",
    ),
    Catch(
        Defect.INGRESS_IGNORES_INTEGRITY,
        f"{STUN}::test_responder_rule[bad_integrity]",
        "answered success; expected 401",
    ),
    Catch(
        Defect.RESPONSE_WITHOUT_DC_LOCATION,
        f"{SIGNALING}::test_valid_request_gets_session_created_matching_the_schema",
        "'dc' is a required property",
    ),
    Catch(
        Defect.NO_FINGERPRINT,
        f"{STUN}::test_responder_rule[valid]",
        "FINGERPRINT is missing",
    ),
    Catch(
        Defect.EDGE_FORGETS_CLIENT_ADDRESS,
        f"{HAPPY}::test_xor_mapped_address_is_the_clients_address",
        "result.xor_mapped_address in expected",
    ),
    Catch(
        Defect.ANSWERS_EACH_TRANSACTION_ONCE,
        f"{STUN}::test_retransmitted_check_is_answered_every_time",
        "verdict.answers == copies",
    ),
    Catch(
        Defect.WRONG_DC_ANSWERS_401,
        f"{STUN}::test_responder_rule[unknown_ufrag]",
        "answered 401; expected silence",
    ),
    Catch(
        Defect.NO_SESSION_HOLD,
        f"{RACE}::test_held_check_is_released_when_the_session_is_stored",
        "RACE-3: a held check leaves the ingress",
    ),
]


def _pytest(
    tests: list[str], defects: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest TESTS`` in the repository, as a user runs the suites."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ULLC_"))}
    env[DEFECTS_ENV] = defects
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def _failed(run: subprocess.CompletedProcess[str]) -> set[str]:
    """Node ids of the short summary's FAILED/ERROR lines."""
    found = set()
    for line in run.stdout.splitlines():
        for prefix in ("FAILED ", "ERROR "):
            if line.startswith(prefix):
                found.add(line[len(prefix) :].split(" - ")[0].strip())
    return found


def _param(catch: Catch) -> object:
    marks = []
    if catch.uncaught is not None:
        marks.append(pytest.mark.xfail(reason=f"not caught: {catch.uncaught}", strict=True))
    return pytest.param(catch, id=catch.defect.value, marks=marks)


def test_every_defect_has_a_catch_here_or_in_the_selftest_catalog() -> None:
    # Defects added with `ullc-harness selftest` (issue 10) are shown caught by
    # tests/test_selftest.py; the ones here also check the failure's text.
    from harness.selftest.catalog import CATALOG

    assert {c.defect for c in CATCHES} <= {e.defect for e in CATALOG} == set(Defect)


@pytest.mark.parametrize("catch", [_param(c) for c in CATCHES])
def test_suite_test_fails_against_the_broken_stack(catch: Catch) -> None:
    run = _pytest([catch.test], catch.defect.value)

    output = run.stdout + run.stderr
    assert f"deliberate defects ({DEFECTS_ENV}={catch.defect.value})" in output, output[-3000:]
    assert run.returncode == 1, output[-3000:]
    assert _failed(run) == {catch.test}, output[-3000:]
    assert catch.evidence in output, output[-3000:]


def test_plain_stun_retransmission_client_is_caught() -> None:
    # The client-side variant of issue 5: retransmitting on RFC 8489's 500 ms RTO
    # instead of STUN-30's pacing (harness.client.media.Retransmission.RFC8489).
    run = _pytest([PACING_TEST], "", {"ULLC_CLIENT_RETRANSMISSION": "rfc8489"})

    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert _failed(run) == {PACING_TEST}, output[-3000:]
    assert "STUN-30: a lost check costs one Tp" in output, output[-3000:]


def test_the_catching_suite_tests_pass_against_the_clean_stack() -> None:
    run = _pytest([*(c.test for c in CATCHES), PACING_TEST], "")

    output = run.stdout + run.stderr
    assert "deliberate defects" not in output
    assert run.returncode == 0, output[-3000:]
    assert _failed(run) == set(), output[-3000:]
