"""CPU accounting of the concurrency bench: read from the kernel, divided per call."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.bench.cpu import CLIENT, CpuCost, CpuMark, process_cpu_s


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


def test_the_busiest_process_and_the_cores_share_come_from_the_marks_and_their_times() -> None:
    before = CpuMark(client_s=1.0, stack_s={10: 2.0, 11: 0.5}, names={10: "hop", 11: "edge"},
                     at=100.0)  # fmt: skip
    after = CpuMark(client_s=1.4, stack_s={10: 2.9, 11: 0.8}, names={10: "hop", 11: "edge"},
                    at=101.0)  # fmt: skip
    cost = CpuCost.between(before, after, calls=100)
    assert cost.wall_s == 1.0
    assert cost.busiest() == ("hop", pytest.approx(0.9))
    # 1.6 CPU-s in 1 s: two cores 80 % busy, four cores 40 %.
    assert cost.cores_busy(2) == pytest.approx(0.8)
    assert cost.cores_busy(4) == pytest.approx(0.4)
    body = cost.to_json()
    assert body["busiest_process"] == {"name": "hop", "cpu_s": 0.9}
    assert (body["cpu_s"], body["wall_s"]) == (1.6, 1.0)


def test_the_client_is_the_busiest_process_when_it_spent_the_most() -> None:
    before = CpuMark(client_s=0.0, stack_s={10: 0.0}, names={10: "hop"}, at=0.0)
    after = CpuMark(client_s=1.2, stack_s={10: 0.7}, names={10: "hop"}, at=2.0)
    assert CpuCost.between(before, after, calls=500).busiest() == (CLIENT, 1.2)


def test_marks_without_times_leave_the_wall_and_the_share_unknown() -> None:
    cost = CpuCost.between(CpuMark(0.0, {}), CpuMark(1.0, {}), calls=10)
    assert cost.wall_s is None
    assert cost.cores_busy(2) is None
    assert "busiest_process" not in cost.to_json()


def test_a_real_mark_knows_when_it_was_taken() -> None:
    first = CpuMark.now([os.getpid()])
    second = CpuMark.now([os.getpid()])
    assert first.at is not None
    assert second.at is not None
    assert second.at >= first.at
