"""Records a call's timeline on ``time.monotonic``, relative to the ``connect`` call."""

from __future__ import annotations

import time
from typing import Any

from harness.client.result import EventKind, TimelineEvent


class Timeline:
    """Append-only event recorder; ``t0`` is the instant ``connect`` was called."""

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = time.monotonic() if t0 is None else t0
        self.events: list[TimelineEvent] = []

    def now_ms(self) -> float:
        return (time.monotonic() - self.t0) * 1000.0

    def add(self, kind: EventKind, **detail: Any) -> TimelineEvent:
        event = TimelineEvent(kind, self.now_ms(), detail)
        self.events.append(event)
        return event

    def add_at(self, kind: EventKind, t_ms: float, **detail: Any) -> TimelineEvent:
        event = TimelineEvent(kind, t_ms, detail)
        self.events.append(event)
        return event

    def first(self, kind: EventKind) -> TimelineEvent | None:
        return next((event for event in self.events if event.kind is kind), None)

    def of_kind(self, kind: EventKind) -> list[TimelineEvent]:
        return [event for event in self.events if event.kind is kind]

    def freeze(self) -> tuple[TimelineEvent, ...]:
        # Stable sort: events stamped after the fact (add_at) land where they happened.
        return tuple(sorted(self.events, key=lambda event: event.t_ms))
