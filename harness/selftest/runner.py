"""Run suite tests against the reference stack with one planted defect, and say who caught it.

Each run is ``python -m pytest`` on the installed suites (``harness.suites``) in a fresh
process with ``ULLC_REFERENCE_DEFECTS`` naming the defect, exactly as a user would run
them; :mod:`harness.selftest.recorder` writes each test's outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from harness.errors import HarnessError
from harness.selftest.catalog import KnownCatch, covers
from harness.selftest.recorder import OUTPUT_ENV
from harness.stack.defects import DEFECTS_ENV, Defect

RUN_TIMEOUT_S = 1800


class SelftestRunError(HarnessError):
    """A self-test run of the suites ended without outcomes (it crashed or timed out).

    The message carries pytest's output; run the same tests by hand to see why.
    """


@dataclass(frozen=True)
class Outcome:
    test: str
    outcome: str
    """``passed``, ``failed`` or ``skipped``."""
    message: str


def world_path(name: str) -> Path:
    resource = files("harness.stack").joinpath("worlds", f"{name}.json")
    return Path(str(resource))


def run_suites(
    tests: list[str] | None, defect: Defect | None, *, world: str | None = None
) -> list[Outcome]:
    """Run ``tests`` (node ids relative to the suites; None: every suite) against the
    reference stack with ``defect`` planted (None: the clean stack)."""
    with as_file(files("harness.suites")) as suites, tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "outcomes.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ULLC_"))}
        env[OUTPUT_ENV] = str(output)
        env[DEFECTS_ENV] = "" if defect is None else defect.value
        command = [
            sys.executable,
            "-P",  # not the working folder first: a clone's harness/ is not the install
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "harness.selftest.recorder",
            f"--rootdir={suites}",
            "-m",
            "not slow",
        ]
        if world is not None:
            command += ["--ullc-topology", str(world_path(world))]
        command += [str(suites / t) for t in tests] if tests else [str(suites)]
        done = subprocess.run(
            command,
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        if not output.is_file():
            raise SelftestRunError(
                f"the suite run for defect {defect.value if defect else 'none'} left no "
                f"outcomes (pytest exit {done.returncode}):\n"
                + (done.stdout + done.stderr)[-3000:],
                hint="run `ullc-harness run` against the reference stack to see the failure",
            )
        raw: dict[str, dict[str, str]] = json.loads(output.read_text(encoding="utf-8"))
    return [Outcome(test, e["outcome"], e["message"]) for test, e in sorted(raw.items())]


@dataclass(frozen=True)
class Verdict:
    defect: Defect
    section: str
    caught_by: tuple[str, ...]
    """Suite tests that failed against the defect and pass on the clean stack."""
    broken_clean: tuple[str, ...] = ()
    """Known catchers that already fail on the clean stack: no evidence either way."""
    clean_messages: tuple[tuple[str, str], ...] = ()
    """(test, the end of its failure) for :attr:`broken_clean`: why it failed clean."""

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)


def failed(outcomes: list[Outcome]) -> set[str]:
    return {o.test for o in outcomes if o.outcome == "failed"}


def judge(
    entry: KnownCatch, defective: list[Outcome], clean: list[Outcome], *, quick: bool
) -> Verdict:
    """A catch is a test that fails with the defect and passes without it."""
    clean_failures = failed(clean)
    catchers = sorted(failed(defective) - clean_failures)
    if quick:
        catchers = [c for c in catchers if any(covers(t, c) for t in entry.tests)]
    broken = sorted(t for t in clean_failures if any(covers(k, t) for k in entry.tests))
    messages = tuple((o.test, o.message) for o in clean if o.test in broken)
    return Verdict(entry.defect, entry.section, tuple(catchers), tuple(broken), messages)
