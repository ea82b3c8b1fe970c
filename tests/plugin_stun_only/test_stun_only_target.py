"""TGT-5 end to end: the conformance suite against a plain STUN server (coturn).

A real ``turnserver --stun-only`` is started on loopback (ephemeral port, flags only),
a target file declaring ``stun = ...`` and ``stun_only = true`` is written, and the
STUN conformance module runs against it through ``pytester``: the rows that hold for
any STUN server pass, every row that needs an ICE session skips naming the capability
the target lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.conformance.stun_server import APT_PACKAGE, PROGRAM, PlainStunServer

pytest_plugins = ["pytester"]

SUITE = Path(__file__).resolve().parents[2] / "suites" / "conformance"


@pytest.fixture
def stun_server() -> Iterator[PlainStunServer]:
    if shutil.which(PROGRAM) is None:
        pytest.skip(f"{PROGRAM} not installed (apt-get install -y {APT_PACKAGE})")
    with PlainStunServer.start() as server:
        yield server


def test_stun_only_target_runs_what_applies_and_skips_the_rest(
    pytester: pytest.Pytester, stun_server: PlainStunServer
) -> None:
    target = stun_server.write_target(pytester.path / "stun-only.toml")

    result = pytester.runpytest_subprocess(
        str(SUITE / "test_conformance_stun.py"),
        "--rootdir",
        str(SUITE.parents[1]),
        "-p",
        "no:cacheprovider",
        "--ullc-target",
        str(target),
        "-rs",
    )

    # Applies to any STUN server: a plain Binding request (conformant success, our
    # address in XOR-MAPPED-ADDRESS), its retransmission, top bits, truncation.
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 4, result.stdout.str()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()
    # Everything that needs a session: skipped, naming the capability TGT-5's target lacks.
    skipped = outcomes.get("skipped", 0)
    assert skipped >= 14, result.stdout.str()
    skip_lines = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert skip_lines
    assert all("lacks capability ullc" in line for line in skip_lines), skip_lines
