"""``ullc-harness report``: build the HTML report from Allure results with the Allure CLI."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from harness.errors import HarnessError, MissingToolError, UsageError

NAME = "report"
HELP = "Build the HTML report (Allure) from reports/allure-results into reports/html."

INSTALL_HINT = (
    "install the Allure command line with `npm install -g allure-commandline` "
    "(it needs Java 17: `java -version`), then run `ullc-harness report` again"
)


class ReportBuildError(HarnessError):
    """``allure generate`` ran but failed (often: no Java, or an unreadable results dir).

    The message carries Allure's own output; the hint says what to check.
    """


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("reports/allure-results"),
        help="Allure results directory, as written by pytest --alluredir "
        "(default: reports/allure-results)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("reports/html"),
        help="where the HTML report goes; replaced on every run (default: reports/html)",
    )


def build_report(results: Path, output: Path) -> Path:
    """Run ``allure generate --clean -o OUTPUT RESULTS``; returns ``output/index.html``."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise UsageError(
            f"no Allure results in {results}",
            hint="run the suites first: `ullc-harness run`, or "
            f"`pytest --alluredir {results}`; or point --results at another directory",
        )
    allure = shutil.which("allure")
    if allure is None:
        raise MissingToolError(
            "the Allure command line (`allure`) is not on PATH", hint=INSTALL_HINT
        )
    command = [allure, "generate", "--clean", "-o", str(output), str(results)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    except subprocess.TimeoutExpired as error:
        raise ReportBuildError(
            f"`{' '.join(command)}` did not finish in 300 s",
            hint="a results directory of many runs is slow; clear it (pytest --clean-alluredir)",
        ) from error
    index = output / "index.html"
    if index.is_file():
        # The requirement coverage table the reporter left beside the results (the
        # report's environment names it): served next to the report.
        for name in ("requirement-coverage.md", "requirement-coverage.json"):
            if (results / name).is_file():
                shutil.copy2(results / name, output / name)
    if done.returncode != 0 or not index.is_file():
        tail = (done.stdout + done.stderr).strip()[-2000:]
        raise ReportBuildError(
            f"`{' '.join(command)}` failed (exit {done.returncode}):\n{tail}",
            hint="Allure needs Java 17 on PATH (`java -version`); " + INSTALL_HINT,
        )
    return index


def run(args: argparse.Namespace) -> int:
    index = build_report(args.results, args.output)
    print(f"wrote {index}")
    print(
        f"open it through a web server (browsers block the report's data over file://): "
        f"`allure open {args.output}` or `python -m http.server -d {args.output}`"
    )
    return 0
