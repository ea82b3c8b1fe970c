"""`ullc-harness load` on real Locust: one master, two workers, the reference stack."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_master_and_two_workers_merge_their_calls_with_no_failure(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harness", "load", "--target", "reference", "--users", "20",
         "--spawn-rate", "20", "--run-time", "8s", "--workers", "2", "--headless",
         "--csv", "reports/load"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    summary = json.loads((tmp_path / "reports" / "load-summary.json").read_text())
    assert summary["failed"] == 0
    assert summary["calls"] > 20
    assert len(summary["workers_reporting"]) == 2, summary
    with (tmp_path / "reports" / "load_stats.csv").open() as stream:
        rows = {row["Name"]: row for row in csv.DictReader(stream)}
    assert int(rows["Aggregated"]["Request Count"]) == summary["calls"]
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert any(name.endswith("/hit") for name in rows), rows.keys()
    # Nothing of Locust's left running: every process was in a group the command ended.
    leftover = subprocess.run(
        ["pgrep", "-af", "harness/load/locustfile.py"], capture_output=True, text=True, check=False
    )
    assert leftover.stdout == ""
