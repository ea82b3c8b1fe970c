"""Run asyncio coroutines from Locust's gevent greenlets.

Locust runs on gevent, which patches ``threading``; the harness's client is asyncio. Each
worker process gets one asyncio loop in an original (unpatched) OS thread, started lazily
on first use, so after Locust has forked. A greenlet hands a coroutine to that loop with
``run_coroutine_threadsafe`` and waits on a gevent ``async`` watcher, which the loop's
thread may signal safely: a plain ``future.result()`` would block every greenlet of the
worker at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import gevent
import gevent.event
from gevent import monkey

T = TypeVar("T")


class AsyncBridge:
    """One asyncio loop in a native thread, shared by the process's users."""

    def __init__(self) -> None:
        self._started: list[asyncio.AbstractEventLoop] = []
        self._starting = False

    def loop(self) -> asyncio.AbstractEventLoop:
        # Greenlets switch only where they wait, so the flag needs no lock; a blocking
        # lock or event here would stall the whole worker (every greenlet shares this
        # thread) while the asyncio thread starts.
        if not self._starting:
            self._starting = True
            monkey.get_original("_thread", "start_new_thread")(self._main, ())
        waited = 0.0
        while not self._started:
            if waited > 10.0:
                raise RuntimeError("the asyncio thread of the load worker did not start")
            gevent.sleep(0.005)
            waited += 0.005
        return self._started[0]

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._started.append(loop)
        loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop; only this greenlet waits for it."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop())
        watcher = gevent.get_hub().loop.async_()
        done = gevent.event.Event()
        watcher.start(done.set)
        future.add_done_callback(lambda _future: watcher.send())
        try:
            done.wait()
        finally:
            watcher.close()
        return future.result()


BRIDGE = AsyncBridge()
"""The process's bridge: one asyncio thread per Locust worker process."""
