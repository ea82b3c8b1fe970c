"""The per-suite table: calls, percentiles, fallbacks, hit rate and the budget verdict."""

from __future__ import annotations

from pathlib import Path

from report_samples import evidence

from harness.reports.summary import CallSample, RunSummary


def test_table_aggregates_per_suite_with_a_budget_verdict(tmp_path: Path) -> None:
    found = evidence(tmp_path)
    summary = RunSummary()
    rows = [CallSample.from_json(CallSample.of(r).to_json()) for r in found.results]
    summary.add("fallback", rows, 1000.0)
    summary.add("happy_path", rows[:3], 100.0)
    lines = summary.table().splitlines()
    assert lines[0].split()[:7] == [
        "suite", "tests", "passed", "failed", "skipped", "calls", "connected"
    ]  # fmt: skip
    fallback = lines[1].split()
    assert fallback[:7] == ["fallback", "1", "0", "0", "0", "12", "12"]
    assert "PASS" in lines[1]
    assert "8.3%" not in lines[1]  # hit rate: 11 of 12 hit the edge
    assert "91.7%" in lines[1]
    assert "FAIL" in lines[2]  # 3 calls, p95 110 ms > 100 ms
