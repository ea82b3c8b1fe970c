"""A call's phases (DNS, signaling, checks per target, re-target, connect) as timed spans.

The report shows them as Allure steps with their real start and end, so the sample
call reads like a waterfall; times are ms after ``connect`` was called.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.client.result import CallResult, EventKind, TimelineEvent


@dataclass(frozen=True)
class Phase:
    title: str
    start_ms: float
    end_ms: float


def call_title(result: CallResult) -> str:
    if result.connected and result.connect_ms is not None:
        via = "after fallback" if result.fell_back else "via edge"
        return f"sample {result.mode.value} call: connected {via} in {result.connect_ms:.1f} ms"
    return f"sample {result.mode.value} call: {result.failure}"


def call_span_ms(result: CallResult) -> float:
    """How long the call took: to connect, or to its last event when it failed."""
    if result.connect_ms is not None:
        return result.connect_ms
    return max((event.t_ms for event in result.timeline), default=0.0)


def call_phases(result: CallResult) -> list[Phase]:
    events = list(result.timeline)

    def first(kind: EventKind) -> TimelineEvent | None:
        return next((e for e in events if e.kind is kind), None)

    phases: list[Phase] = []
    dns_sent, dns_answer = first(EventKind.DNS_SENT), first(EventKind.DNS_ANSWERED)
    if dns_sent is not None:
        answer = (
            f"-> {dns_answer.detail.get('address')} at {dns_answer.t_ms:.1f} ms"
            if dns_answer is not None
            else "no answer"
        )
        end = dns_answer.t_ms if dns_answer is not None else dns_sent.t_ms
        phases.append(
            Phase(
                f"DNS {dns_sent.detail.get('name', '')} at {dns_sent.t_ms:.1f} ms {answer}",
                dns_sent.t_ms,
                end,
            )
        )
    request, response = first(EventKind.REQUEST_SENT), first(EventKind.RESPONSE_RECEIVED)
    if request is not None:
        got = (
            f"{response.detail.get('type', 'response')}"
            + (f" (DC {response.detail['dc']})" if "dc" in response.detail else "")
            + (f" (code {response.detail['code']})" if "code" in response.detail else "")
            + f" at {response.t_ms:.1f} ms"
            if response is not None
            else "no response"
        )
        end = response.t_ms if response is not None else request.t_ms
        title = f"signaling: session.create sent at {request.t_ms:.1f} ms, {got}"
        phases.append(Phase(title, request.t_ms, end))
    phases.extend(_check_phases(events))
    for event in events:
        if event.kind is EventKind.RETARGET:
            phases.append(
                Phase(
                    f"retarget -> {event.detail.get('target')} at {event.t_ms:.1f} ms",
                    event.t_ms,
                    event.t_ms,
                )
            )
    connected = first(EventKind.CONNECTED)
    if connected is not None:
        phases.append(
            Phase(
                f"connected via {connected.detail.get('via')} at {connected.t_ms:.1f} ms",
                connected.t_ms,
                connected.t_ms,
            )
        )
    return phases


def _check_phases(events: list[TimelineEvent]) -> list[Phase]:
    """One phase per check target: from its first send to its first answer (or last send)."""
    per_target: dict[str, list[TimelineEvent]] = {}
    for event in events:
        if event.kind is EventKind.CHECK_SENT:
            per_target.setdefault(str(event.detail.get("target")), []).append(event)
    answers = [e for e in events if e.kind is EventKind.CHECK_ANSWERED]
    phases = []
    for target, sent in per_target.items():
        via = sent[0].detail.get("via", "edge")
        answered = [a for a in answers if a.detail.get("source") == target]
        statuses = [str(a.detail.get("status")) for a in answered]
        span = f"{sent[0].t_ms:.1f}..{sent[-1].t_ms:.1f} ms"
        end = answered[0].t_ms if answered else sent[-1].t_ms
        phases.append(
            Phase(
                f"checks -> {target} ({via}): {len(sent)} sent {span}"
                + (f", answers: {', '.join(statuses)}" if statuses else ", no answer"),
                sent[0].t_ms,
                end,
            )
        )
    return phases
