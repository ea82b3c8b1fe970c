"""The ingress hold of RACE-3: checks for a ufrag with no stored session wait up to H."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from peers.compact.responder import Check

PER_UFRAG = 4  # RACE-3: the newest 4 datagrams per ufrag
TOTAL = 10_000  # RACE-3: at most 10,000 in all


@dataclass(frozen=True)
class Held:
    check: Check
    source: tuple[str, int]
    reply: Callable[[bytes], None]
    deadline: float


class HoldQueue:
    def __init__(self, hold_ms: int) -> None:
        self.hold_s = hold_ms / 1000
        self._queues: OrderedDict[str, deque[Held]] = OrderedDict()
        self._total = 0

    def hold(self, check: Check, source: tuple[str, int], reply: Callable[[bytes], None]) -> None:
        if self.hold_s <= 0:
            return  # no hold: the check is discarded silently (SESS-4)
        queue = self._queues.setdefault(check.bot_ufrag, deque())
        if len(queue) == PER_UFRAG:
            queue.popleft()
            self._total -= 1
        queue.append(Held(check, source, reply, time.monotonic() + self.hold_s))
        self._total += 1
        while self._total > TOTAL:  # drop the oldest datagram overall
            oldest_ufrag, oldest = next(iter(self._queues.items()))
            oldest.popleft()
            self._total -= 1
            if not oldest:
                del self._queues[oldest_ufrag]

    def release(self, bot_ufrag: str) -> list[Held]:
        """The checks still within H for a session that was just stored."""
        queue = self._queues.pop(bot_ufrag, None)
        if queue is None:
            return []
        self._total -= len(queue)
        now = time.monotonic()
        return [held for held in queue if held.deadline > now]

    def expire(self) -> None:
        """Discard checks held longer than H (silently, SESS-4)."""
        now = time.monotonic()
        for ufrag in list(self._queues):
            queue = self._queues[ufrag]
            while queue and queue[0].deadline <= now:
                queue.popleft()
                self._total -= 1
            if not queue:
                del self._queues[ufrag]
