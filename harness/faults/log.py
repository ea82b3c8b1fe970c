"""The fault log: what was switched on or off, where, with which parameters, and when.

Times are ``time.monotonic()`` so reports can place events on the same timeline as
call measurements taken with the monotonic clock in the same machine.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FaultAction(StrEnum):
    APPLIED = "applied"
    REMOVED = "removed"


@dataclass(frozen=True)
class FaultEvent:
    """One transition of one fault. ``where`` is a link (proxy) or component name."""

    what: str
    where: str
    action: FaultAction
    params: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["action"] = self.action.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultEvent:
        return cls(
            what=str(data["what"]),
            where=str(data["where"]),
            action=FaultAction(data["action"]),
            params=dict(data.get("params") or {}),
            t=float(data["t"]),
        )


@dataclass(frozen=True)
class FaultWindow:
    """When one fault was active, on ``time.monotonic``.

    ``start`` is ``-inf`` for a fault removed without an ``applied`` in the log (on since
    before the log began); ``end`` is None for one still active when the log was read.
    """

    what: str
    where: str
    start: float
    end: float | None
    params: Mapping[str, object] = field(default_factory=dict)

    def overlaps(self, start: float, end: float, grace_s: float = 0.0) -> bool:
        stop = math.inf if self.end is None else self.end + grace_s
        return start <= stop and end >= self.start

    def describe(self) -> str:
        until = "end of run" if self.end is None else f"{self.end:.3f}"
        return f"{self.what} on {self.where} {dict(self.params)} [{self.start:.3f}, {until}]"


def _key(event: FaultEvent) -> tuple[str, str, str]:
    return (event.what, event.where, json.dumps(event.params, sort_keys=True, default=str))


class FaultLog:
    """Append-only, thread-safe list of :class:`FaultEvent` (schedules run in threads)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._events: list[FaultEvent] = []
        self._lock = threading.Lock()

    def record(
        self, what: str, where: str, action: FaultAction, params: dict[str, Any] | None = None
    ) -> FaultEvent:
        event = FaultEvent(what, where, action, dict(params or {}))
        with self._lock:
            self._events.append(event)
        return event

    @property
    def events(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._events)

    def __iter__(self) -> Iterator[FaultEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def windows(self) -> list[FaultWindow]:
        """The one pairing of ``applied`` and ``removed`` (accounting and timelines use it).

        A ``removed`` closes the oldest open ``applied`` of the same fault (kind, place,
        params); failing that, the oldest open one of the same kind and place (an undo
        may carry other params, e.g. a latency map's restore); failing that, it closes a
        window open since before the log began. Sorted by start.
        """
        open_: dict[tuple[str, str, str], list[FaultEvent]] = {}
        windows: list[FaultWindow] = []
        for event in sorted(self.events, key=lambda e: e.t):
            key = _key(event)
            if event.action is FaultAction.APPLIED:
                open_.setdefault(key, []).append(event)
                continue
            candidates = open_.get(key) or next(
                (started for other, started in open_.items() if other[:2] == key[:2] and started),
                None,
            )
            if candidates:
                start = candidates.pop(0)
                windows.append(
                    FaultWindow(event.what, event.where, start.t, event.t, dict(start.params))
                )
            else:
                windows.append(
                    FaultWindow(event.what, event.where, -math.inf, event.t, dict(event.params))
                )
        for started in open_.values():
            windows.extend(FaultWindow(e.what, e.where, e.t, None, dict(e.params)) for e in started)
        return sorted(windows, key=lambda w: w.start)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "events": [event.to_json() for event in self.events]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultLog:
        log = cls(seed=data.get("seed"))
        log._events = [FaultEvent.from_json(item) for item in data.get("events", [])]
        return log
