"""One timer heap for all delayed sends of a hop process.

Why not one ``loop.call_at`` per datagram: a TimerHandle per datagram costs an
allocation and a heap push inside asyncio anyway, and asyncio's epoll wait rounds
every timeout *up* to the next millisecond, so each delayed send would land
0-1 ms late (0.5 ms on average). Here one loop timer is armed ``_EARLY`` before the
earliest due item; when it fires, the remaining sub-millisecond gap is slept
precisely (``time.sleep`` uses a high-resolution nanosleep), then everything due
is sent. Items are never sent early, typically < 0.1 ms late; the price is that
the loop blocks for at most ``_SLEEP_MAX`` in all per wake-up (then the timer is
armed again and the loop reads its sockets first), which only happens when a
delaying toxic is active.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

_EARLY = 0.001  # epoll granularity; how early the loop timer is armed
_SLEEP_MAX = 0.0012  # never block the loop longer than this per wake-up

Callback = Callable[[Any], None]


class TimerHeap:
    """Run ``callback(arg)`` at monotonic time ``when``; FIFO for equal times."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callback, Any]] = []
        self._counter = itertools.count()
        self._armed: asyncio.TimerHandle | None = None
        self._armed_for = float("inf")

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, when: float, callback: Callback, arg: Any) -> None:
        heapq.heappush(self._heap, (when, next(self._counter), callback, arg))
        if when < self._armed_for:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed_for = when
        # call_later from time.monotonic(), not call_at: uvloop's loop.time() is a
        # millisecond count cached per iteration; either way the timer may fire up to a
        # millisecond early, and _fire sleeps what is left.
        self._armed = self._loop.call_later(when - _EARLY - time.monotonic(), self._fire)

    def _fire(self) -> None:
        self._armed = None
        self._armed_for = float("inf")
        heap = self._heap
        slept = 0.0
        while heap:
            when = heap[0][0]
            now = time.monotonic()
            if when > now:
                gap = when - now
                # The budget is per wake-up, not per item: with items due every few
                # hundred microseconds (a burst of calls) sleeping item after item
                # kept the loop from reading its sockets for tens of milliseconds.
                if slept + gap > _SLEEP_MAX:
                    break
                time.sleep(gap)
                slept += gap
            _, _, callback, arg = heapq.heappop(heap)
            try:
                callback(arg)
            except Exception as error:  # one broken send must not stop all other links
                self._loop.call_exception_handler(
                    {"message": "hop send failed", "exception": error}
                )
        if heap:
            self._arm(heap[0][0])

    def discard(self, predicate: Callable[[Any], bool]) -> None:
        """Drop pending items whose ``arg`` matches (a closed connection or flow)."""
        kept = [item for item in self._heap if not predicate(item[3])]
        if len(kept) != len(self._heap):
            heapq.heapify(kept)
            self._heap[:] = kept

    def close(self) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed = None
        self._heap.clear()
