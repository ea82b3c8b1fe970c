"""Check that a generated Allure HTML report opens in a browser and shows the right tests.

``python -m harness.reports.verify_html reports/html --expect-tests N`` serves the
report on 127.0.0.1 (Allure 2's page fetches its JSON, which ``file://``
forbids), drives headless Chromium through ChromeDriver's W3C WebDriver API
(plain HTTP + JSON: no Selenium needed), waits until the overview shows the
test count, saves a screenshot, then opens one test with a plot and a timeline
and saves a second screenshot with them expanded. Chromium, ChromeDriver and
the HTTP server are stopped in ``finally``, also on failure.

``--expect-tests`` defaults to the number of tests in ``--results`` (distinct
``historyId`` of its ``*-result.json``), so the check compares the page with the data.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, MissingToolError, UsageError

CHROMIUM_FLAGS = (
    # The machine's closed network refuses Chromium's background connections:
    # these flags keep it from trying (see the machine notes), headless as root.
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)
INSTALL_HINT = "install them with `apt-get install -y chromium chromium-driver`"


class ReportCheckError(HarnessError):
    """The HTML report did not render as expected in Chromium.

    The message says what was awaited and what the page showed; look at the
    screenshot it names.
    """


@dataclass
class CheckResult:
    url: str
    tests_shown: int
    screenshots: list[Path] = field(default_factory=list)


def count_results(results: Path) -> int:
    """Tests an Allure report of ``results`` shows: distinct ``historyId`` of ``*-result.json``.

    A results dir that several runs wrote into holds one file per test per run;
    Allure shows each test once (the others become its retries), so count tests.
    """
    seen: set[str] = set()
    for path in results.glob("*-result.json"):
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        seen.add(str(case.get("historyId") or case.get("uuid") or path.name))
    return len(seen)


def find_browser() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or MissingToolError saying how to install them."""
    chromium = next(
        (p for name in ("chromium", "chromium-browser") if (p := shutil.which(name))), None
    )
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None]
        raise MissingToolError(f"{' and '.join(missing)} not on PATH", hint=INSTALL_HINT)
    return chromium, driver


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="report-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebDriver:
    """The few W3C WebDriver commands the check needs, over urllib."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session: str | None = None

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:500]
            raise ReportCheckError(
                f"WebDriver {method} {path} failed: {error.code} {detail}",
                hint="chromium and chromedriver must be the same version (Debian's packages)",
            ) from error

    def start(self, chromium: str, profile: Path) -> None:
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
            },
        }
        value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, 60)
        self.session = str(value["sessionId"])

    def _s(self, path: str) -> str:
        assert self.session is not None
        return f"/session/{self.session}{path}"

    def go(self, url: str) -> None:
        self._call("POST", self._s("/url"), {"url": url}, 60)

    def script(self, source: str, *args: Any) -> Any:
        return self._call("POST", self._s("/execute/sync"), {"script": source, "args": list(args)})

    def resize(self, width: int, height: int) -> None:
        self._call("POST", self._s("/window/rect"), {"width": width, "height": height})

    def screenshot(self, path: Path) -> Path:
        png = base64.b64decode(self._call("GET", self._s("/screenshot")))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return path

    def quit(self) -> None:
        if self.session is not None:
            with contextlib.suppress(HarnessError, OSError):
                self._call("DELETE", self._s(""), timeout=10)
            self.session = None


@contextlib.contextmanager
def browser() -> Iterator[WebDriver]:
    """Headless Chromium behind ChromeDriver, both stopped (and the profile removed) after."""
    chromium, driver_path = find_browser()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="ullc-chromium-") as profile:
        process = subprocess.Popen(
            [driver_path, f"--port={port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        driver = WebDriver(f"http://127.0.0.1:{port}")
        try:
            _wait_ready(driver, process)
            driver.start(chromium, Path(profile))
            yield driver
        finally:
            driver.quit()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_ready(driver: WebDriver, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ReportCheckError(
                f"chromedriver exited with {process.returncode} at start", hint=INSTALL_HINT
            )
        with contextlib.suppress(OSError, HarnessError, ValueError):
            if (driver._call("GET", "/status", timeout=2) or {}).get("ready"):
                return
        time.sleep(0.1)
    raise ReportCheckError("chromedriver did not answer /status within 20 s", hint=INSTALL_HINT)


# The overview's summary widget: the big number over "test cases" (Allure 2).
_SHOWN_TESTS = """
const title = document.querySelector('.splash__title');
const subtitle = document.querySelector('.splash__subtitle');
if (!title || !subtitle) return null;
return [title.innerText, subtitle.innerText];
"""


def _await(driver: WebDriver, script: str, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.script(script)
        if value:
            return value
        time.sleep(0.2)
    text = str(driver.script("return document.body ? document.body.innerText : ''"))[:400]
    raise ReportCheckError(
        f"waited {timeout:.0f} s for {what}; the page shows: {text!r}",
        hint="open the report with `allure open reports/html` and look",
    )


def _test_with_plots(report: Path) -> str | None:
    """uid of a test case with a PNG and an SVG attachment, a failed one first if any.

    The second screenshot is what a reader of a red CI run wants to see.
    """
    found: list[tuple[bool, str]] = []
    for path in sorted((report / "data" / "test-cases").glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        kinds: set[str] = set()

        def collect(node: dict[str, Any], kinds: set[str] = kinds) -> None:
            kinds.update(str(a.get("type")) for a in node.get("attachments", []))
            for step in node.get("steps", []):
                collect(step)

        for stage in ("testStage", "afterStages", "beforeStages"):
            value = case.get(stage)
            for node in value if isinstance(value, list) else [value] if value else []:
                collect(node)
        if {"image/png", "image/svg+xml"} <= kinds:
            found.append((case.get("status") not in ("failed", "broken"), str(case["uid"])))
    return min(found)[1] if found else None


_OPEN_IMAGES = """
const rows = Array.from(document.querySelectorAll('.attachment-row'));
let opened = 0;
for (const row of rows) {
  const text = row.innerText || '';
  if (text.includes('latency') || text.includes('timeline')) { row.click(); opened += 1; }
}
return opened;
"""


def check_report(
    report: Path, *, expect_tests: int, screenshot: Path, timeout: float = 30
) -> CheckResult:
    """Open ``report`` in headless Chromium; the overview must show ``expect_tests`` tests."""
    if not (report / "index.html").is_file():
        raise UsageError(f"no index.html in {report}", hint="build it first: `ullc-harness report`")
    with serve(report) as url, browser() as driver:
        driver.go(url)
        title, subtitle = _await(driver, _SHOWN_TESTS, "the overview's test count", timeout)
        shots = [driver.screenshot(screenshot)]
        digits = "".join(ch for ch in str(title) if ch.isdigit())
        shown = int(digits) if digits else -1
        if shown != expect_tests or "test" not in str(subtitle).lower():
            raise ReportCheckError(
                f"the overview shows {title!r} {subtitle!r}, expected {expect_tests} test cases",
                hint=f"see {screenshot}; the results dir and the report disagree",
            )
        uid = _test_with_plots(report)
        if uid is not None:
            # Tall enough that the plot and the timeline below it are both in the shot.
            driver.resize(1400, 2400)
            driver.go(f"{url}#testresult/{uid}")
            _await(driver, "return document.querySelectorAll('.attachment-row').length", "tests")
            driver.script(_OPEN_IMAGES)
            # Images load after the click: wait until the PNG and SVG are in the page.
            _await(
                driver,
                "return document.querySelectorAll('.attachment__media, img, object').length >= 2",
                "the attachments to render",
                timeout,
            )
            time.sleep(1.0)
            test_shot = screenshot.with_name(screenshot.stem + "-test" + screenshot.suffix)
            shots.append(driver.screenshot(test_shot))
        return CheckResult(url, shown, shots)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.reports.verify_html")
    parser.add_argument("report", type=Path, help="the HTML report folder (reports/html)")
    parser.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    parser.add_argument("--expect-tests", type=int, default=None)
    parser.add_argument("--screenshot", type=Path, default=Path("reports/html-screenshot.png"))
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    expected = args.expect_tests if args.expect_tests is not None else count_results(args.results)
    try:
        result = check_report(
            args.report, expect_tests=expected, screenshot=args.screenshot, timeout=args.timeout
        )
    except HarnessError as error:
        print(f"verify_html: {error}", file=sys.stderr)
        return 1
    shots = ", ".join(str(p) for p in result.screenshots)
    print(f"report shows {result.tests_shown} test cases as expected; screenshots: {shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
