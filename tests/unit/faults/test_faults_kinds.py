"""One fault-kind table, one pairing of the fault log, kills logged once, no import cycle."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys

import pytest

from harness.conformance.accounting import EXPLAINS, fault_windows
from harness.errors import UsageError
from harness.faults.client import FaultClient, Link
from harness.faults.log import FaultAction, FaultLog
from harness.faults.model import Protocol
from harness.faults.schedule import FaultKind as ScheduleKind
from harness.faults.vocabulary import KINDS, FaultKind, Target, kill
from harness.fixtures.faults import Faults
from harness.reports.timeline import fault_spans


def test_every_kind_is_in_the_table_and_everyone_reads_it() -> None:
    assert set(KINDS) == set(FaultKind)
    assert ScheduleKind is FaultKind
    assert {FaultKind(k): v for k, v in EXPLAINS.items()} == {
        kind: spec.explains for kind, spec in KINDS.items()
    }
    link_kinds = {kind for kind, spec in KINDS.items() if spec.target is Target.LINK}
    # The client's and the fixture's methods are thin calls into the table.
    for kind in link_kinds:
        method = "reset_peer" if kind is FaultKind.RESET else kind.value
        assert "self.fault(FaultKind." in inspect.getsource(getattr(Link, method))
        assert "self.fault(FaultKind." in inspect.getsource(getattr(Faults, kind.value))


def test_vocabulary_and_client_import_without_a_cycle() -> None:
    code = (
        "import sys, harness.faults.vocabulary as v; "
        "assert 'harness.faults.client' not in sys.modules, 'vocabulary imports client'; "
        "import harness.faults.client"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("kind", "protocol", "needs"),
    [
        (FaultKind.LOSS, Protocol.TCP, "UDP"),
        (FaultKind.BURSTY_LOSS, Protocol.TCP, "UDP"),
        (FaultKind.RESET, Protocol.UDP, "TCP"),
    ],
)
def test_the_table_refuses_a_kind_on_the_wrong_protocol(
    hop_client: FaultClient, kind: FaultKind, protocol: Protocol, needs: str
) -> None:
    link = hop_client.create_link(f"wrong_{kind}", "127.0.0.1:9", protocol=protocol)
    params = {"timeout_ms": 0} if kind is FaultKind.RESET else {}
    args = (0.1, 0.5) if kind is FaultKind.BURSTY_LOSS else (0.1,) if kind is FaultKind.LOSS else ()
    with pytest.raises(UsageError, match=f"only on {needs} links"):
        link.fault(kind, *args, **params)
    assert link.toxics() == []


class _Control:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def kill(self, component: str) -> None:
        self.calls.append(("kill", component))

    def pause(self, component: str) -> None:
        self.calls.append(("pause", component))

    def resume(self, component: str) -> None:
        self.calls.append(("resume", component))

    def restart(self, component: str) -> None:
        self.calls.append(("restart", component))


def test_a_kill_is_removed_once_by_its_restart_and_never_without_one() -> None:
    control, log = _Control(), FaultLog()
    with KINDS[FaultKind.KILL].on_process(control, "bot-1", log, control.restart):
        pass
    kill(control, "bot-2", log).remove()  # never applied: nothing
    left = kill(control, "bot-3", log)
    left.apply()
    left.remove()  # no restart: the component stays dead, the window stays open
    assert control.calls == [("kill", "bot-1"), ("restart", "bot-1"), ("kill", "bot-3")]
    assert [(e.where, e.action) for e in log] == [
        ("bot-1", FaultAction.APPLIED),
        ("bot-1", FaultAction.REMOVED),
        ("bot-3", FaultAction.APPLIED),
    ]
    windows = log.windows()
    assert [(w.where, w.end is None) for w in windows] == [("bot-1", False), ("bot-3", True)]


def test_windows_is_the_one_pairing_of_accounting_and_timeline() -> None:
    log = FaultLog()
    log.record("loss", "edge", FaultAction.REMOVED, {"probability": 0.2})  # on before the log
    log.record("latency", "a", FaultAction.APPLIED, {"ms": 10})
    log.record("latency", "a", FaultAction.APPLIED, {"ms": 50})
    log.record("latency_map", "gateway", FaultAction.APPLIED, {"version": "v2"})
    log.record("latency", "a", FaultAction.REMOVED, {"ms": 50})
    log.record("latency_map", "gateway", FaultAction.REMOVED, {})  # undo carries no params
    windows = log.windows()
    assert fault_windows(log) == windows
    described = [(w.what, dict(w.params), w.start == -math.inf, w.end is None) for w in windows]
    assert described == [
        ("loss", {"probability": 0.2}, True, False),
        ("latency", {"ms": 10}, False, True),
        ("latency", {"ms": 50}, False, False),
        ("latency_map", {"version": "v2"}, False, False),
    ]
    t0 = log.events[1].t
    spans = fault_spans(log, t0)
    assert [(s.what, s.params, s.end_ms is None) for s in spans] == [
        (w.what, dict(w.params), w.end is None) for w in windows
    ]
    ends = [None if w.end is None else (w.end - t0) * 1000 for w in windows]
    assert [s.end_ms for s in spans] == pytest.approx(ends)
