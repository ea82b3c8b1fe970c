"""CallResult's timeline readings, which the race, outage and happy-path suites judge by."""

from __future__ import annotations

from harness.client.result import CallOutcome, CallResult, EventKind, TimelineEvent
from harness.signaling import Mode


def _result(response_ms: float | None, *events: tuple[EventKind, float]) -> CallResult:
    return CallResult(
        CallOutcome.CONNECTED,
        Mode.ULLC,
        connect_ms=120.0,
        response_ms=response_ms,
        timeline=tuple(TimelineEvent(kind, t_ms) for kind, t_ms in events),
    )


def test_first_ms_is_the_earliest_event_of_its_kind() -> None:
    result = _result(
        None,
        (EventKind.DNS_SENT, 0.5),
        (EventKind.CHECK_SENT, 2.0),
        (EventKind.CHECK_SENT, 52.0),
    )
    assert result.first_ms(EventKind.CHECK_SENT) == 2.0
    assert result.first_ms(EventKind.CONNECTED) is None


def test_signaling_round_trip_runs_from_the_request_to_the_answer() -> None:
    answered = _result(90.0, (EventKind.CHECK_SENT, 1.0), (EventKind.REQUEST_SENT, 4.0))
    assert answered.signaling_ms == 86.0
    assert _result(None, (EventKind.REQUEST_SENT, 4.0)).signaling_ms is None
    assert _result(90.0, (EventKind.CHECK_SENT, 1.0)).signaling_ms is None
