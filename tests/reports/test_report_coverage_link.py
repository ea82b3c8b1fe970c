"""A run with --alluredir leaves the requirement coverage table beside its results and names
it, with its numbers, in the report's environment (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLAIN_TEST = "def test_nothing_needs_a_target():\n    assert 1 + 1 == 2\n"


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_results_dir_gets_the_coverage_table_and_the_environment_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_plain.py").write_text(PLAIN_TEST)
    results = tmp_path / "allure-results"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--alluredir", str(results)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    table = json.loads((results / "requirement-coverage.json").read_text())
    must = next(c for c in table["counts"] if c["level"] == "MUST")
    assert must["total"] > 100
    assert must["tested"] + must["explained"] == must["total"]
    markdown = (results / "requirement-coverage.md").read_text()
    assert "| ROUTE-7 | MUST |" in markdown
    environment = (results / "environment.properties").read_text()
    line = next(x for x in environment.splitlines() if x.startswith("requirement_coverage="))
    assert f"MUST\\: {must['tested']}/{must['total']} tested" in line, line
    assert "requirement-coverage.md" in line
