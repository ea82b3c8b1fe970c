"""The fault log: what was switched on or off, where, with which parameters, and when.

Times are ``time.monotonic()`` so reports can place events on the same timeline as
call measurements taken with the monotonic clock in the same machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
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

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "events": [event.to_json() for event in self.events]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultLog:
        log = cls(seed=data.get("seed"))
        log._events = [FaultEvent.from_json(item) for item in data.get("events", [])]
        return log
