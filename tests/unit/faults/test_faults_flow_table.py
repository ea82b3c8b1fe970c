"""The UDP flow table's bound: who is evicted first, the process budget, the log line."""

from __future__ import annotations

import logging

import pytest

from harness.faults.engine.flow_table import FdBudget, FlowTable


class FakeFlow:
    """Only what the table reads: ``answered`` and ``close``."""

    def __init__(self, answered: bool) -> None:
        self.answered = answered
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _fill(table: FlowTable, answered: dict[str, bool]) -> dict[str, FakeFlow]:
    flows = {}
    for name, was_answered in answered.items():
        assert table.room()
        flows[name] = FakeFlow(was_answered)
        table.add((name, 1), flows[name])
    return flows


def test_a_never_answered_flow_goes_before_older_answered_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = FlowTable("edge", max_flows=3, budget=FdBudget(limit=100))
    flows = _fill(table, {"call-1": True, "flood": False, "call-2": True})
    with caplog.at_level(logging.WARNING, logger="harness.faults.udp"):
        assert table.room()
    assert flows["flood"].closed
    assert not flows["call-1"].closed
    assert "flow table full" in caplog.text
    assert "max_flows 3" in caplog.text


def test_among_answered_flows_the_least_recently_active_goes() -> None:
    table = FlowTable("edge", max_flows=2, budget=FdBudget(limit=100))
    flows = _fill(table, {"old": True, "new": True})
    table.touch(("old", 1))  # old is active again: new is now the least recent
    assert table.room()
    assert flows["new"].closed
    assert not flows["old"].closed


def test_the_process_budget_bounds_every_table_together() -> None:
    budget = FdBudget(limit=3)
    first = FlowTable("a", max_flows=100, budget=budget)
    second = FlowTable("b", max_flows=100, budget=budget)
    _fill(first, {"x": True, "y": True})
    _fill(second, {"z": True})
    assert budget.full
    assert second.room()  # evicts from its own table
    assert (len(first), len(second), budget.used) == (2, 0, 2)
    empty = FlowTable("c", max_flows=100, budget=FdBudget(limit=0))
    assert not empty.room()  # nothing of its own to evict: the datagram drops
