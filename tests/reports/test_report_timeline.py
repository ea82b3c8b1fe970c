"""The call timeline SVG: one mark per event, faults where the log says, readable labels."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_samples import EDGE, FAULT_WHERE, MEDIA, evidence

from harness.client.result import EventKind
from harness.faults.log import FaultLog
from harness.reports.timeline import fault_spans, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def _marks(root: ET.Element, css: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("class") == css]


@pytest.fixture
def drawn(tmp_path: Path) -> tuple[ET.Element, object, FaultLog]:
    found = evidence(tmp_path)
    call = found.sample_call()
    assert call is not None
    assert call.started_at is not None
    assert found.fault_log is not None
    svg = timeline_svg(call, faults=fault_spans(found.fault_log, call.started_at))
    return ET.fromstring(svg), call, found.fault_log


def test_one_mark_per_check_sent_on_its_targets_lane(drawn: tuple) -> None:
    root, call, _ = drawn
    sent = [e for e in call.timeline if e.kind is EventKind.CHECK_SENT]
    marks = _marks(root, "check-sent")
    assert len(marks) == len(sent) == 4
    assert [m.get("data-target") for m in marks] == [str(e.detail["target"]) for e in sent]
    assert {m.get("data-via") for m in marks} == {"edge", "media"}
    assert [float(m.get("data-t-ms", "nan")) for m in marks] == pytest.approx(
        [e.t_ms for e in sent], abs=1e-3
    )
    lanes = [el.text for el in _marks(root, "lane-label")]
    assert f"checks → {EDGE[0]}:{EDGE[1]} (edge)" in lanes
    assert any(text and text.startswith(f"checks → {MEDIA[0]}:{MEDIA[1]}") for text in lanes)


def test_answers_signaling_dns_and_connected_are_marked(drawn: tuple) -> None:
    root, call, _ = drawn
    answered = _marks(root, "check-answered")
    assert [m.get("data-status") for m in answered] == ["error_response", "success"]
    assert len(_marks(root, "request-sent")) == len(_marks(root, "response-received")) == 1
    assert len(_marks(root, "dns-sent")) == len(_marks(root, "dns-answered")) == 1
    (connected,) = _marks(root, "connected")
    assert float(connected.get("data-t-ms", "nan")) == pytest.approx(call.connect_ms)
    assert len(_marks(root, "retarget")) == 1
    # Every mark has a tooltip a reader can hover.
    assert all(m.find(f"{SVG}title") is not None for m in answered)


def test_fault_spans_are_where_the_log_says(drawn: tuple) -> None:
    root, call, log = drawn
    spans = {m.get("data-what"): m for m in _marks(root, "fault")}
    # The loss was on and off before the call: not drawn.
    assert set(spans) == {"latency", "partition"}
    latency = spans["latency"]
    assert latency.get("data-where") == FAULT_WHERE
    removed = next(e for e in log.events if e.what == "latency" and e.action.value == "removed")
    assert float(latency.get("data-end-ms", "nan")) == pytest.approx(
        (removed.t - call.started_at) * 1000, abs=1e-3
    )
    assert float(latency.get("data-start-ms", "nan")) < 0  # applied before the call
    assert spans["partition"].get("data-end-ms") == "open"
    assert float(spans["partition"].get("data-start-ms", "nan")) == pytest.approx(30.0, abs=1e-3)
    # Drawn extent: the latency band starts at the axis origin and ends at 80 ms.
    origin = float(_axis_x(root, 0))
    assert float(latency.get("x", "nan")) == pytest.approx(origin)


def _axis_x(root: ET.Element, tick: float) -> str:
    for el in _marks(root, "tick"):
        if el.text == f"{tick:g}":
            return el.get("x", "nan")
    raise AssertionError(f"no tick {tick}")


def test_fault_pairs_without_a_start_begin_at_minus_infinity() -> None:
    log = FaultLog.from_json(
        {"events": [{"what": "loss", "where": "l", "action": "removed", "t": 11.0}]}
    )
    (span,) = fault_spans(log, 10.0)
    assert span.start_ms == -math.inf
    assert span.end_ms == pytest.approx(1000.0)


def test_without_a_call_start_no_fault_is_placed(tmp_path: Path) -> None:
    found = evidence(tmp_path)
    assert fault_spans(found.fault_log, None) == []
