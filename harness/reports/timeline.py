"""One call as an SVG timeline: DNS, signaling, checks per target, and the faults active.

Written by hand rather than through matplotlib: every mark is an element with a
``class`` and ``data-*`` attributes (``check-sent``, ``check-answered``,
``fault``...) and a ``<title>`` tooltip, so a reader can hover it in the
Allure report and a test can count it with an XML parser.

Times are milliseconds after the call's ``connect`` (the call's own timeline,
:class:`~harness.client.result.TimelineEvent`). Fault events are
``time.monotonic`` seconds; :func:`fault_spans` moves them onto the call's axis
given the monotonic instant the call started.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from harness.client.result import CallResult, EventKind, TimelineEvent
from harness.faults.log import FaultLog

WIDTH = 1100
LABEL_W = 260
RIGHT_PAD = 30
LANE_H = 30
TOP = 74
AXIS_H = 40

_COLOURS = {
    "dns": "#6a3d9a",
    "signaling": "#1f78b4",
    "edge": "#33a02c",
    "media": "#e66101",
    "fault": "#d62728",
    "connected": "#1a9850",
    "failed": "#d73027",
}


@dataclass(frozen=True)
class FaultSpan:
    """A fault active from ``start_ms`` to ``end_ms`` (``None``: still on at the end)."""

    what: str
    where: str
    start_ms: float
    end_ms: float | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items() if k != "seed")
        return f"{self.what}({shown}) on {self.where}" if shown else f"{self.what} on {self.where}"


def fault_spans(log: FaultLog | None, call_started_at: float | None) -> list[FaultSpan]:
    """The log's fault windows (:meth:`FaultLog.windows`, the one pairing) in call ms.

    A fault removed without an ``applied`` in the log was on since before the log
    began: its span starts at ``-inf``. Without ``call_started_at`` no fault can
    be placed, so none is returned.
    """
    if log is None or call_started_at is None:
        return []

    def ms(t: float) -> float:
        return (t - call_started_at) * 1000.0

    return [
        FaultSpan(
            window.what,
            window.where,
            ms(window.start),
            None if window.end is None else ms(window.end),
            dict(window.params),
        )
        for window in log.windows()
    ]


def _nice_step(span: float, ticks: int = 10) -> float:
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


@dataclass
class _Canvas:
    end_ms: float
    parts: list[str] = field(default_factory=list)

    def x(self, t_ms: float) -> float:
        usable = WIDTH - LABEL_W - RIGHT_PAD
        clipped = min(max(t_ms, 0.0), self.end_ms)
        return round(LABEL_W + usable * clipped / self.end_ms, 2)

    def add(self, text: str) -> None:
        self.parts.append(text)


def _attrs(**values: Any) -> str:
    # class_ -> class (a keyword), data_t_ms -> data-t-ms
    return " ".join(
        f"{name.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for name, v in values.items()
    )


def _mark(
    canvas: _Canvas, y: float, event: TimelineEvent, css: str, colour: str, tip: str, **data: Any
) -> None:
    x = canvas.x(event.t_ms)
    shape = (
        f'<path d="M{x - 5},{y - 7} L{x + 5},{y} L{x - 5},{y + 7} Z"'
        if css in ("check-sent", "request-sent", "dns-sent")
        else f'<circle cx="{x}" cy="{y}" r="5"'
    )
    attributes = _attrs(class_=css, fill=colour, data_t_ms=f"{event.t_ms:.3f}", **data)
    canvas.add(f"{shape} {attributes}><title>{escape(tip)}</title></{shape.split()[0][1:]}>")


def timeline_svg(
    result: CallResult, *, faults: Sequence[FaultSpan] = (), title: str | None = None
) -> str:
    """The SVG document (text) of one call's timeline."""
    events = list(result.timeline)
    targets: dict[str, str] = {}  # target -> via, in the order checks first went there
    by_transaction: dict[str, str] = {}
    for event in events:
        if event.kind is EventKind.CHECK_SENT:
            target = str(event.detail.get("target", "?"))
            targets.setdefault(target, str(event.detail.get("via", "edge")))
            if "transaction" in event.detail:
                by_transaction[str(event.detail["transaction"])] = target
    # The axis is the call's: faults that outlast it are clipped at the right edge.
    last = max([e.t_ms for e in events] + [result.connect_ms or 0.0] + [1.0])
    canvas = _Canvas(end_ms=last * 1.05)
    visible = [
        s for s in faults if (s.end_ms is None or s.end_ms >= 0) and s.start_ms <= canvas.end_ms
    ]

    lanes: list[tuple[str, str]] = [("dns", "DNS"), ("signaling", "signaling")]
    for target, via in targets.items():
        kind = "edge" if via == "edge" else "fallback"
        lanes.append((f"checks:{target}", f"checks → {target} ({kind})"))
    lanes += [(f"fault:{i}", s.label) for i, s in enumerate(visible)]
    lane_y = {key: TOP + LANE_H * i + LANE_H / 2 for i, (key, _) in enumerate(lanes)}
    plot_bottom = TOP + LANE_H * len(lanes)
    height = plot_bottom + AXIS_H + 10

    heading = title or _heading(result)
    canvas.add(
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(heading)}</text>'
        '<text x="10" y="42" font-size="11" fill="#555">'
        "ms after connect; triangles sent, circles answered, red bands: faults active</text>"
    )
    # Fault shading first so every mark draws on top of it.
    for index, span in enumerate(visible):
        x0 = canvas.x(span.start_ms)
        x1 = canvas.x(canvas.end_ms if span.end_ms is None else span.end_ms)
        y = lane_y[f"fault:{index}"]
        end = "open" if span.end_ms is None else f"{span.end_ms:.3f}"
        tip = f"{span.label}: {span.start_ms:.1f} ms .. {end} ms"
        data = _attrs(
            class_="fault",
            data_what=span.what,
            data_where=span.where,
            data_start_ms=f"{span.start_ms:.3f}",
            data_end_ms=end,
        )
        canvas.add(
            f'<rect x="{x0}" y="{TOP}" width="{max(x1 - x0, 1.0)}" '
            f'height="{plot_bottom - TOP}" fill="{_COLOURS["fault"]}" fill-opacity="0.08" '
            'class="fault-band"/>'
            f'<rect x="{x0}" y="{y - 8}" width="{max(x1 - x0, 1.0)}" height="16" '
            f'fill="{_COLOURS["fault"]}" fill-opacity="0.45" {data}>'
            f"<title>{escape(tip)}</title></rect>"
        )
    for i, (key, label) in enumerate(lanes):
        y = TOP + LANE_H * i
        if i % 2 == 0:
            canvas.add(
                f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE_H}" fill="#000" '
                'fill-opacity="0.03"/>'
            )
        canvas.add(
            f'<text x="10" y="{y + LANE_H / 2 + 4}" font-size="12" class="lane-label" '
            f"data-lane={quoteattr(key)}>{escape(_clip(label, 40))}</text>"
        )
    _axis(canvas, plot_bottom)
    _bars(canvas, events, lane_y)
    for event in events:
        _event(canvas, event, lane_y, by_transaction)
    body = "\n".join(canvas.parts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">\n'
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>\n{body}\n</svg>\n'
    )


def _heading(result: CallResult) -> str:
    if result.connected and result.connect_ms is not None:
        how = "after fallback to media" if result.fell_back else "via edge"
        state = f"connected {how} in {result.connect_ms:.1f} ms"
    else:
        state = f"FAILED: {result.failure}"
    where = f", DC {result.dc}" if result.dc else ""
    return f"{result.mode.value} call {result.session_id or ''}{where}: {state}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _axis(canvas: _Canvas, y: float) -> None:
    step = _nice_step(canvas.end_ms)
    canvas.add(f'<line x1="{LABEL_W}" y1="{y}" x2="{WIDTH - RIGHT_PAD}" y2="{y}" stroke="#333"/>')
    tick = 0.0
    while tick <= canvas.end_ms + 1e-9:
        x = canvas.x(tick)
        canvas.add(
            f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{y + 5}" stroke="#ccc" stroke-width="0.5"/>'
            f'<text x="{x}" y="{y + 18}" font-size="10" text-anchor="middle" class="tick">'
            f"{tick:g}</text>"
        )
        tick += step
    canvas.add(
        f'<text x="{(LABEL_W + WIDTH - RIGHT_PAD) / 2}" y="{y + 34}" font-size="11" '
        'text-anchor="middle">time since connect (ms)</text>'
    )


def _bars(canvas: _Canvas, events: list[TimelineEvent], lane_y: dict[str, float]) -> None:
    """Spans between a request and its answer: DNS query, session.create -> response."""
    pairs = (
        ("dns", EventKind.DNS_SENT, EventKind.DNS_ANSWERED),
        ("signaling", EventKind.REQUEST_SENT, EventKind.RESPONSE_RECEIVED),
    )
    for lane, start_kind, end_kind in pairs:
        start = next((e for e in events if e.kind is start_kind), None)
        end = next((e for e in events if e.kind is end_kind), None)
        if start is None or end is None:
            continue
        x0, x1 = canvas.x(start.t_ms), canvas.x(end.t_ms)
        canvas.add(
            f'<rect x="{x0}" y="{lane_y[lane] - 3}" width="{max(x1 - x0, 1.0)}" height="6" '
            f'fill="{_COLOURS[lane]}" fill-opacity="0.35" class="{lane}-span"/>'
        )


def _event(
    canvas: _Canvas,
    event: TimelineEvent,
    lane_y: dict[str, float],
    by_transaction: dict[str, str],
) -> None:
    detail = event.detail
    at = f"{event.t_ms:.1f} ms"
    kind = event.kind
    if kind is EventKind.DNS_SENT:
        _mark(canvas, lane_y["dns"], event, "dns-sent", _COLOURS["dns"], f"DNS query at {at}")
    elif kind is EventKind.DNS_ANSWERED:
        tip = f"DNS answer {detail.get('address', '?')} at {at}"
        _mark(canvas, lane_y["dns"], event, "dns-answered", _COLOURS["dns"], tip)
    elif kind is EventKind.REQUEST_SENT:
        tip = f"session.create sent at {at}"
        _mark(canvas, lane_y["signaling"], event, "request-sent", _COLOURS["signaling"], tip)
    elif kind is EventKind.RESPONSE_RECEIVED:
        what = detail.get("type", "response")
        extra = f" code {detail['code']}" if "code" in detail else ""
        extra += f" DC {detail['dc']}" if "dc" in detail else ""
        tip = f"{what}{extra} received at {at}"
        _mark(canvas, lane_y["signaling"], event, "response-received", _COLOURS["signaling"], tip)
    elif kind is EventKind.CHECK_SENT:
        target = str(detail.get("target", "?"))
        via = str(detail.get("via", "edge"))
        colour = _COLOURS["edge"] if via == "edge" else _COLOURS["media"]
        error = f" (send error: {detail['error']})" if "error" in detail else ""
        tip = f"check #{detail.get('attempt', '?')} → {target} at {at}{error}"
        _mark(
            canvas,
            lane_y[f"checks:{target}"],
            event,
            "check-sent",
            colour,
            tip,
            data_target=target,
            data_via=via,
            data_attempt=detail.get("attempt", ""),
        )
    elif kind is EventKind.CHECK_ANSWERED:
        target = by_transaction.get(str(detail.get("transaction")), str(detail.get("source", "")))
        lane = f"checks:{target}"
        status = str(detail.get("status", "?"))
        ok = "success" in status
        colour = _COLOURS["connected"] if ok else _COLOURS["failed"]
        tip = f"answer from {detail.get('source', '?')}: {status} at {at}"
        y = lane_y.get(lane, lane_y["signaling"])
        _mark(
            canvas, y, event, "check-answered", colour, tip, data_target=target, data_status=status
        )
    elif kind in (EventKind.CONNECTED, EventKind.FAILED, EventKind.RETARGET):
        css = kind.value
        colour = {
            EventKind.CONNECTED: _COLOURS["connected"],
            EventKind.FAILED: _COLOURS["failed"],
            EventKind.RETARGET: _COLOURS["media"],
        }[kind]
        x = canvas.x(event.t_ms)
        if kind is EventKind.CONNECTED:
            label = f"connected {event.t_ms:.1f} ms ({detail.get('via', '?')})"
        elif kind is EventKind.FAILED:
            label = f"failed: {detail.get('outcome', '?')}"
        else:
            label = f"retarget → {detail.get('target', '?')}"
        attributes = _attrs(class_=css, data_t_ms=f"{event.t_ms:.3f}")
        # Retarget and connected are often close: their labels go on two rows.
        label_y = TOP - 8 if kind is EventKind.CONNECTED else TOP - 20
        dash = "" if kind is EventKind.CONNECTED else ' stroke-dasharray="4 3"'
        canvas.add(
            f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{max(lane_y.values()) + LANE_H / 2}" '
            f'stroke="{colour}" stroke-width="2"{dash} {attributes}>'
            f"<title>{escape(label)} at {at}</title></line>"
            f'<text x="{x + 3 if x < WIDTH - 200 else x - 3}" y="{label_y}" font-size="10" '
            f'text-anchor="{"start" if x < WIDTH - 200 else "end"}" fill="{colour}">'
            f"{escape(label)}</text>"
        )
