"""``ullc-harness run``: run the packaged suites against a target and print a summary table.

The suites ship inside the package (``harness.suites``), so this works after a
plain ``pip install .``, without a clone. Results go under ``--output``:
``allure-results/`` (``ullc-harness report`` builds HTML from it), ``junit.xml``
and ``summary.json`` (the table below, as data). The exit status is pytest's.
Anything after ``--`` goes to pytest unchanged (``-- -k fallback -x``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME = "run"
HELP = "run the ULLC suites (default: against the embedded reference stack), write reports/"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="FILE",
        help="target file (TOML, specs/target-file.md) of the implementation under test; "
        "default: the embedded reference stack",
    )
    parser.add_argument(
        "--backend",
        default="local",
        help="how the reference stack runs: local (default) or docker (containers)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where results go: allure-results/, junit.xml, summary.json (default: reports)",
    )
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="-- PYTEST_ARGS",
        help="arguments passed on to pytest, after --",
    )


def suites_dir() -> Path:
    """The suites as installed (``harness.suites``); a clone's ``suites/`` when editable."""
    from importlib.resources import files

    return Path(str(files("harness.suites")))


@dataclass
class SuiteRow:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    connect_ms: list[float] = field(default_factory=list)
    calls: int = 0
    connected: int = 0


class SummaryCollector:
    """A pytest plugin object: outcome counts per suite, and the calls the reporter carries
    on each teardown report (``ullc_calls``; it crosses xdist, so ``-- -n 2`` works)."""

    def __init__(self) -> None:
        self.rows: dict[str, SuiteRow] = {}

    def _row(self, nodeid: str) -> SuiteRow:
        suite = nodeid.split("::", 1)[0].split("/", 1)[0]
        return self.rows.setdefault(suite, SuiteRow())

    def pytest_runtest_logreport(self, report: Any) -> None:
        row = self._row(report.nodeid)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                row.passed += 1
            elif report.skipped:
                row.skipped += 1
            else:
                row.failed += 1
        elif report.when == "teardown" and report.failed:
            row.failed += 1
        data = getattr(report, "ullc_calls", None)
        if report.when == "teardown" and isinstance(data, dict):
            for mode, outcome, connect_ms, _fell_back in data.get("calls", []):
                del mode
                row.calls += 1
                if outcome == "connected" and connect_ms is not None:
                    row.connected += 1
                    row.connect_ms.append(float(connect_ms))

    def table(self) -> tuple[list[str], list[dict[str, Any]]]:
        from harness.client.stats import nearest_rank

        records = []
        for suite, row in sorted(self.rows.items()):
            record: dict[str, Any] = {
                "suite": suite,
                "passed": row.passed,
                "failed": row.failed,
                "skipped": row.skipped,
                "calls": row.calls,
                "connected": row.connected,
            }
            for p in (50, 95, 99):
                value = nearest_rank(row.connect_ms, p)
                record[f"p{p}_ms"] = None if value is None else round(value, 1)
            records.append(record)
        headers = ["suite", "passed", "failed", "skipped", "calls", "p50_ms", "p95_ms", "p99_ms"]
        cells = [headers] + [["-" if r[h] is None else str(r[h]) for h in headers] for r in records]
        widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in cells
        ]
        return lines, records


def pytest_arguments(args: argparse.Namespace, suites: Path, output: Path) -> list[str]:
    extra = list(args.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return [
        str(suites),
        # The suites' own folder is the root, so test ids read "fallback/test_...".
        "--rootdir",
        str(suites),
        "--ullc-target",
        str(Path(args.target).resolve()) if args.target else "reference",
        "--ullc-backend",
        args.backend,
        f"--alluredir={output / 'allure-results'}",
        f"--junitxml={output / 'junit.xml'}",
        # An installed package is no place for a cache directory.
        "-o",
        f"cache_dir={output / '.pytest_cache'}",
        "-ra",
        *extra,
    ]


def run(args: argparse.Namespace) -> int:
    import pytest

    suites = suites_dir()
    output: Path = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    collector = SummaryCollector()
    code = int(pytest.main(pytest_arguments(args, suites, output), plugins=[collector]))
    lines, records = collector.table()
    (output / "summary.json").write_text(
        json.dumps({"exit_code": code, "suites": records}, indent=2) + "\n", encoding="utf-8"
    )
    if records:
        print()
        print("\n".join(lines))
    print(
        f"\nresults: {output} (HTML: `ullc-harness report`); pytest exit code {code}",
        file=sys.stderr,
    )
    return code
