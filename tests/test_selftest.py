"""``ullc-harness selftest``: every planted defect has a known catcher among the shipped
suite tests, the verdict logic counts only real catches, and (slow) the command shows each
defect added with it caught by a named test."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.selftest.catalog import CATALOG, covers
from harness.selftest.runner import Outcome, judge
from harness.spec_coverage.citations import collect
from harness.stack.defects import Defect

OLDER_DEFECTS = {
    # Shown caught, with the failure's text, by tests/variants/test_broken_variants.py.
    Defect.GATEWAY_ON_OTHER_MAP,
    Defect.INGRESS_IGNORES_INTEGRITY,
    Defect.RESPONSE_WITHOUT_DC_LOCATION,
    Defect.NO_FINGERPRINT,
    Defect.NO_SESSION_HOLD,
    Defect.EDGE_FORGETS_CLIENT_ADDRESS,
    Defect.ANSWERS_EACH_TRANSACTION_ONCE,
    Defect.WRONG_DC_ANSWERS_401,
}


def test_every_defect_has_exactly_one_catalog_entry() -> None:
    assert sorted(e.defect.value for e in CATALOG) == sorted(d.value for d in Defect)


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_every_known_catcher_is_a_shipped_suite_test() -> None:
    collected = [c.test for c in collect()]
    for entry in CATALOG:
        for test in entry.tests:
            assert any(covers(test, node) for node in collected), (entry.defect, test)


def _outcomes(**states: str) -> list[Outcome]:
    return [Outcome(test, state, "") for test, state in states.items()]


def test_a_catch_fails_with_the_defect_and_passes_without_it() -> None:
    entry = next(e for e in CATALOG if e.defect is Defect.EDGE_TIES_BY_MAP_ORDER)
    (known,) = entry.tests
    other = "conformance/test_x.py::test_y"
    clean = _outcomes(**{known: "passed", other: "failed"})

    caught = judge(entry, _outcomes(**{known: "failed", other: "failed"}), clean, quick=True)
    survived = judge(entry, _outcomes(**{known: "passed", other: "failed"}), clean, quick=False)
    broken = judge(
        entry, _outcomes(**{known: "failed"}), _outcomes(**{known: "failed"}), quick=True
    )

    assert caught.caught_by == (known,)
    assert not survived.caught  # `other` fails clean too: no evidence of a catch
    assert not broken.caught
    assert broken.broken_clean == (known,)


@pytest.mark.slow
def test_selftest_shows_every_newer_defect_caught_by_a_named_test() -> None:
    newer = [e for e in CATALOG if e.defect not in OLDER_DEFECTS]
    command = [sys.executable, "-m", "harness", "selftest", "--quick"]
    for entry in newer:
        command += ["--defect", entry.defect.value]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ULLC_"))}

    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=3600, check=False
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert f"{len(newer)}/{len(newer)} planted defects caught" in done.stdout, output[-5000:]
    for entry in newer:
        line = next(x for x in done.stdout.splitlines() if x.startswith(entry.defect.value))
        assert any(t.split("[")[0] in line for t in entry.tests), line
