"""``ullc-harness bench`` from the outside: the JSON it writes has the right shape.

Only the shape is checked (sections, numbers, targets, verdicts), never whether a
target is met: timing targets are the benchmark's job (DESIGN section 9), and a
loaded CI machine must not fail a test for being slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VERDICTS = {"met", "MISSED", "not measured"}


def _bench(
    tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "bench", *args, "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed, json.loads(output.read_text())


def _judged(section: dict[str, object]) -> None:
    targets = section["targets"]
    verdicts = section["verdicts"]
    assert isinstance(targets, dict)
    assert isinstance(verdicts, dict)
    assert targets
    assert set(targets) == set(verdicts)
    for target in targets.values():
        assert target["op"] in {"<", "<=", ">", ">="}
        assert isinstance(target["limit"], (int, float))
    assert set(verdicts.values()) <= VERDICTS
    assert section["verdict"] in VERDICTS
    load = section["load"]
    assert isinstance(load, dict)
    assert len(load["before"]) == 3
    assert len(load["after"]) == 3


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_ullc_vs_sequential_section_shape(tmp_path: Path) -> None:
    completed, body = _bench(tmp_path, "--only", "ullc_vs_sequential", "--calls", "10")
    section = body["ullc_vs_sequential"]
    assert isinstance(section, dict)
    _judged(section)
    assert set(section["targets"]) == {"p50_ratio", "efficiency"}
    # The RTT comes from the topology (TOPO-4): the default world's is 100 ms.
    assert section["rtt_ms"] == pytest.approx(100.0)
    for mode in ("ullc", "sequential"):
        series = section[mode]
        assert series["calls"] == 10
        assert len(series["samples_ms"]) == series["connected"]
        if series["connected"]:
            assert series["p50_ms"] <= series["p95_ms"] <= series["p99_ms"]
    if section["ullc"]["connected"] and section["sequential"]["connected"]:
        ratio = section["ullc"]["p50_ms"] / section["sequential"]["p50_ms"]
        assert section["p50_ratio"] == pytest.approx(ratio, abs=1e-3)
        assert section["efficiency"] == pytest.approx(100.0 / section["ullc"]["p50_ms"], abs=1e-3)
    assert "== ullc_vs_sequential:" in completed.stdout
    assert (tmp_path / "bench.png").stat().st_size > 0


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_concurrency_and_startup_sections_shape(tmp_path: Path) -> None:
    completed, body = _bench(
        tmp_path, "--only", "concurrency", "--only", "startup", "--concurrent", "20",
        "--starts", "2",
    )  # fmt: skip
    concurrency = body["concurrency"]
    assert isinstance(concurrency, dict)
    _judged(concurrency)
    assert concurrency["rtt_ms"] == pytest.approx(50.0)
    assert concurrency["concurrent"] == 20
    assert concurrency["connected"] + concurrency["failed"] == 20
    assert sum(concurrency["failures"].values()) == concurrency["failed"]
    # The calls-only window lies inside the whole run's, on the same monotonic counters.
    whole, calls = concurrency["cpu"], concurrency["call_cpu"]
    for key in ("client_cpu_ms_per_call", "stack_cpu_ms_per_call"):
        assert 0.0 <= calls[key] <= whole[key]
    assert calls["stack_cpu_ms_per_call"] > 0.0
    assert "(calls only)" in completed.stdout
    # Why a CPU-bound run misses: the cores' budget per call against what was spent.
    cores = concurrency["load"]["cpus"]
    assert concurrency["cpu_budget_ms_per_call"] == pytest.approx(cores * 500.0 / 20)
    assert calls["cpu_s"] > 0.0
    assert 0.0 < calls["wall_s"] <= concurrency["wall_s"]
    assert concurrency["cores_busy"] == pytest.approx(
        calls["cpu_s"] / (cores * calls["wall_s"]), abs=0.01
    )
    busiest = calls["busiest_process"]
    assert busiest["name"] in {"client", *calls["stack_cpu_ms_per_call_by_component"]}
    assert 0.0 < busiest["cpu_s"] <= calls["cpu_s"]
    assert "busiest process" in completed.stdout
    startup = body["startup"]
    assert isinstance(startup, dict)
    _judged(startup)
    assert startup["starts"] == 2
    assert startup["median_s"] <= startup["max_s"]
    assert "== startup:" in completed.stdout


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_only_keeps_the_other_sections_results(tmp_path: Path) -> None:
    """``--only`` rewrites its sections and keeps the rest of an earlier bench.json."""
    output = tmp_path / "bench.json"
    output.write_text(json.dumps({"hop": {"verdict": "met", "kept": True}}))
    _completed, body = _bench(tmp_path, "--only", "startup", "--starts", "1")
    assert body["hop"] == {"verdict": "met", "kept": True}
    assert body["startup"]["verdict"] in VERDICTS
