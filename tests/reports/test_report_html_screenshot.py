"""The HTML report builds with Allure and renders in headless Chromium, plots included.

Needs the Allure CLI, Chromium and ChromeDriver (.ci/run installs them). Without
them the test skips and says what to install; in CI (``CI=true``) it fails
instead, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_samples import SuiteRun, suite_run

from harness.cli.commands.report import build_report
from harness.reports.verify_html import check_report, count_results

__all__ = ["suite_run"]  # the session fixture the end-to-end tests share


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


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_html_report_renders_with_test_count_plots_and_timeline(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _need_tools()
    # Asked for only now: without the tools, the suite run is not worth its seconds.
    run: SuiteRun = request.getfixturevalue("suite_run")
    results = run.results
    assert count_results(results) == 3

    index = build_report(results, tmp_path / "html")
    assert index.is_file()
    shot = tmp_path / "html-screenshot.png"
    checked = check_report(tmp_path / "html", expect_tests=3, screenshot=shot)
    assert checked.tests_shown == 3

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
