"""TGT-5 end to end: the suites against real STUN-only targets (coturn and an aioice agent).

Each responder is started on loopback (harness.conformance.stun_peers), its target file
(``stun = ...``, ``stun_only = true`` and a ``[stun]`` section: profile, credentials for
the ICE agent, its reviewed known deviations) is written, and all of suites/ runs
against it through ``pytester``: the STUN-only rows pass, everything else skips with its
real reason, nothing fails or errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.conformance.stun_peers import KNOWN_DEVIATIONS, StunPeer, start_peer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"


# The default run: coturn through the conformance suite; the slow run (and
# .ci/steps/stun.sh): coturn and an ICE agent through all of suites/.
RUNS = [
    pytest.param(("coturn", "conformance"), id="coturn-conformance"),
    pytest.param(("coturn", ""), id="coturn-all-suites", marks=pytest.mark.slow),
    pytest.param(("aioice", ""), id="aioice-all-suites", marks=pytest.mark.slow),
]


@pytest.fixture(params=RUNS)
def run(request: pytest.FixtureRequest) -> tuple[str, str]:
    return tuple(request.param)  # type: ignore[return-value]


@pytest.fixture
def peer(run: tuple[str, str]) -> Iterator[StunPeer]:
    if run[0] == "coturn" and shutil.which("turnserver") is None:
        pytest.skip("turnserver not installed (apt-get install -y coturn)")
    with start_peer(run[0]) as started:
        yield started


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_stun_only_target_passes_what_applies_and_skips_the_rest(
    pytester: pytest.Pytester, peer: StunPeer, run: tuple[str, str]
) -> None:
    target = peer.write_target(pytester.path / "stun-only.toml")

    result = pytester.runpytest_subprocess(
        str(SUITES / run[1]), "--rootdir", str(ROOT), "-p", "no:cacheprovider",
        "--ullc-target", str(target), "-rs",
    )  # fmt: skip

    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()
    # coturn (no credentials): the plain rows; aioice: the signed 400/401/420/discard rows too.
    assert outcomes.get("passed", 0) >= (15 if peer.credentials else 10), result.stdout.str()
    skip_lines = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    reasons = ("lacks capability", "declares no [stun] credentials", "declares known deviation")
    assert all(any(r in line for r in reasons) for line in skip_lines), skip_lines
    deviations = [line for line in skip_lines if "declares known deviation" in line]
    expected = [p for p in KNOWN_DEVIATIONS[peer.name] if peer.credentials or "check-" not in p]
    assert len(deviations) == len(expected), deviations
