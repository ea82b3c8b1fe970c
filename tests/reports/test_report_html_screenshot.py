"""The HTML report builds with Allure and renders in headless Chromium, plots included.

Needs the Allure CLI, Chromium and ChromeDriver (.ci/run installs them). Without
them the test skips and says what to install; in CI (``CI=true``) it fails
instead, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli.commands.report import build_report
from harness.reports.verify_html import check_report, count_results

HERE = Path(__file__).resolve().parent

SUITE = """
import pytest
from report_samples import evidence


@pytest.mark.fallback
@pytest.mark.requirements("FB-4")
def test_diverged_call_recovers(ullc_evidence, tmp_path):
    found = evidence(tmp_path / "logs", test_id=ullc_evidence.test_id)
    ullc_evidence.batches.extend(found.batches)
    ullc_evidence.fault_log = found.fault_log
    ullc_evidence.captures.update(found.captures)


@pytest.mark.happy_path
def test_plain(ullc_evidence):
    pass
"""


def _need_tools() -> None:
    missing = [
        tool
        for tool, found in (
            ("allure (npm install -g allure-commandline; Java 17)", shutil.which("allure")),
            ("chromium (apt-get install -y chromium)", shutil.which("chromium")),
            ("chromedriver (apt-get install -y chromium-driver)", shutil.which("chromedriver")),
        )
        if found is None
    ]
    if not missing:
        return
    reason = "HTML report check needs " + ", ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must install them (.ci/run does)")
    pytest.skip(reason)


def test_html_report_renders_with_test_count_plots_and_timeline(tmp_path: Path) -> None:
    _need_tools()
    suite = tmp_path / "run" / "suites" / "fallback"
    suite.mkdir(parents=True)
    (suite / "test_screenshot_suite.py").write_text(SUITE)
    results = tmp_path / "allure-results"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider"),
            *("--alluredir", str(results), "--ullc-budget-ms", "300"),
        ],
        cwd=tmp_path / "run",
        env={**os.environ, "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_results(results) == 2

    index = build_report(results, tmp_path / "html")
    assert index.is_file()
    shot = tmp_path / "html-screenshot.png"
    checked = check_report(tmp_path / "html", expect_tests=2, screenshot=shot)
    assert checked.tests_shown == 2

    overview, test_page = checked.screenshots
    for path in (overview, test_page):
        image = np.asarray(Image.open(path).convert("RGB"))
        assert image.shape[0] > 500
        assert image.shape[1] > 1000
        # Not blank: a rendered page has many colours, a blank or error page a handful.
        assert len(np.unique(image.reshape(-1, 3), axis=0)) > 200
    # The test page shows the plot (its budget line, red) and the timeline (its edge
    # check marks, green #33a02c) expanded: both attachments rendered, not just listed.
    page = np.asarray(Image.open(test_page).convert("RGB")).astype(int)
    red = (page[..., 0] > 200) & (page[..., 1] < 70) & (page[..., 2] < 70)
    assert red.sum() > 300
    green = np.abs(page - np.array([0x33, 0xA0, 0x2C])).sum(axis=-1) < 40
    assert green.sum() > 50
