"""A pytest plugin that writes each suite test's outcome as JSON, for the self-test.

Loaded with ``-p harness.selftest.recorder`` into a run of the installed suites; the
output file is named by ``ULLC_SELFTEST_OUTCOMES``. Outcomes of every phase: a fixture
that fails against a broken stack (an error) catches the defect as much as an assertion.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OUTPUT_ENV = "ULLC_SELFTEST_OUTCOMES"
MESSAGE_CHARS = 600


class _Recorder:
    def __init__(self, output: Path) -> None:
        self.output = output
        self.outcomes: dict[str, dict[str, str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
        if report.failed:
            entry["outcome"] = "failed"
            entry["message"] = report.longreprtext[-MESSAGE_CHARS:]
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"

    def pytest_sessionfinish(self) -> None:
        self.output.write_text(json.dumps(self.outcomes, indent=1), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    output = os.environ.get(OUTPUT_ENV)
    if output:
        config.pluginmanager.register(_Recorder(Path(output)), "ullc-selftest-recorder")
