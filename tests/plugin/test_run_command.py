"""``ullc-harness run``: the packaged suites, reports under --output, pytest's exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_run_writes_reports_and_prints_the_summary_table(tmp_path: Path) -> None:
    result = run_command(
        "--output", "out", "--", "-k", "routing_bet or one_call_connects", cwd=tmp_path
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.startswith("suite  ") and "passed" in line
    )
    assert lines[header + 1].split()[:5] == ["happy_path", "2", "2", "0", "0"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["exit_code"] == 0
    (happy,) = [row for row in summary["suites"] if row["suite"] == "happy_path"]
    assert happy["calls"] >= 21
    assert happy["p95_ms"] is not None
    assert (happy["tests"], happy["passed"], happy["failed"], happy["skipped"]) == (2, 2, 0, 0)
    assert (tmp_path / "out" / "junit.xml").is_file()
    assert any((tmp_path / "out" / "allure-results").iterdir())
    # Nothing else in the working folder: no .hypothesis, .pytest_cache or .benchmarks.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "allure-results", "junit.xml", "summary.json"
    ]  # fmt: skip


def test_run_exit_code_is_pytests(tmp_path: Path) -> None:
    result = run_command("--backend", "k8s", cwd=tmp_path)
    assert result.returncode == 4  # pytest's usage error
    assert "unknown backend 'k8s'" in result.stderr
