"""CPU accounting of the concurrency bench: read from the kernel, divided per call."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.bench.cpu import CpuCost, CpuMark, process_cpu_s


def test_a_busy_process_shows_its_cpu_and_a_gone_one_none() -> None:
    busy = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
         "while time.process_time() < end: pass\nimport sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        used: float | None = 0.0
        for _ in range(200):
            used = process_cpu_s(busy.pid)
            if used is not None and used >= 0.3:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert used is not None
        assert 0.3 <= used < 5.0
    finally:
        busy.communicate(b"")
    assert process_cpu_s(busy.pid) is None


def test_cost_per_call_and_calls_per_core_are_the_ratios_of_the_deltas() -> None:
    before = CpuMark(client_s=1.0, stack_s={10: 2.0, 11: 0.5})
    after = CpuMark(client_s=1.5, stack_s={10: 3.0, 11: 1.0})
    cost = CpuCost.between(before, after, calls=500)
    assert (cost.client_s, cost.stack_s) == (0.5, 1.5)
    assert cost.per_call_ms(cost.client_s) == 1.0
    assert cost.per_call_ms(cost.stack_s) == 3.0
    assert cost.calls_per_core_s == 250.0
    assert cost.to_json() == {
        "client_cpu_ms_per_call": 1.0,
        "stack_cpu_ms_per_call": 3.0,
        "calls_per_core_s": 250.0,
    }


def test_named_marks_split_the_stack_cost_by_component_costliest_first() -> None:
    before = CpuMark(client_s=0.0, stack_s={10: 2.0, 11: 0.5, 12: 1.0}, names={10: "hop",
                     11: "gateway", 12: "edge"})  # fmt: skip
    # pid 12 is gone by the second mark: it counts as having spent nothing since.
    after = CpuMark(client_s=0.2, stack_s={10: 2.3, 11: 1.0}, names={10: "hop", 11: "gateway"})
    cost = CpuCost.between(before, after, calls=100)
    assert cost.by_component == {"hop": pytest.approx(0.3), "gateway": 0.5, "edge": 0.0}
    assert cost.top_components(2) == [("gateway", 5.0), ("hop", pytest.approx(3.0))]
    assert cost.to_json()["stack_cpu_ms_per_call_by_component"] == {
        "edge": 0.0, "gateway": 5.0, "hop": 3.0,
    }  # fmt: skip


def test_a_mark_of_named_pids_knows_each_process_by_name() -> None:
    mark = CpuMark.now({"me": os.getpid(), "gone": 2**22 + 1})
    assert mark.names[os.getpid()] == "me"
    assert set(mark.stack_s) == {os.getpid()}
