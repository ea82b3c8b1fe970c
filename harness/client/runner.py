"""Place many calls from many clients at once: the engine of suites, ``connect`` and bench.

``concurrency`` is the number of simultaneous clients; each holds its own
persistent gateway connection (SIG-2) and places its share of calls one after
another, so at most ``concurrency`` calls are in flight. Every client is
closed on the way out, also on error or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from harness.client.client import UllcClient
from harness.client.result import CallResult
from harness.client.stats import CallStats
from harness.errors import UsageError
from harness.signaling.messages import Mode
from harness.target.model import Target

Progress = Callable[[int, int, CallResult], None]
"""``progress(done, total, result)`` after each call."""

OPEN_AT_ONCE = 32
"""Gateway handshakes in flight while opening clients: a burst of hundreds of
TCP+WebSocket handshakes would measure the listener's backlog, not ULLC."""


async def run_calls(
    target: Target,
    n: int,
    *,
    concurrency: int = 1,
    mode: Mode = Mode.ULLC,
    progress: Progress | None = None,
    pacing_ms: float | None = None,
    deadline_s: float | None = None,
    on_open: Callable[[], None] | None = None,
) -> tuple[list[CallResult], CallStats]:
    """Place ``n`` calls with ``concurrency`` clients; results in the order calls started.

    ``on_open`` is called once every client is open, right before the first call: with
    the last ``progress`` call it brackets the calls alone (the bench's call-phase CPU).
    """
    if n < 1:
        raise UsageError(f"number of calls must be at least 1, got {n}", hint="pass --calls N")
    if concurrency < 1:
        raise UsageError(
            f"concurrency must be at least 1, got {concurrency}", hint="pass --concurrency C"
        )
    if not target.capabilities.has(mode.value):
        raise UsageError(
            f"target {target.name} does not declare the {mode.value} mode",
            hint="add it to [capabilities].modes if the target has it (SIG-9, TGT-4)",
        )
    width = min(concurrency, n)
    results: list[CallResult | None] = [None] * n
    next_index = iter(range(n))
    done = 0
    opening = asyncio.Semaphore(OPEN_AT_ONCE)

    async with contextlib.AsyncExitStack() as stack:

        async def open_client() -> UllcClient:
            async with opening:
                client = UllcClient(target, pacing_ms=pacing_ms, deadline_s=deadline_s)
                await client.open()
            return client

        opened = await asyncio.gather(
            *(open_client() for _ in range(width)), return_exceptions=True
        )
        clients = [c for c in opened if isinstance(c, UllcClient)]

        async def close_all() -> None:
            # Together: one by one, 500 WebSocket closing handshakes took ~10 s.
            closed = await asyncio.gather(
                *(client.close() for client in clients), return_exceptions=True
            )
            failures = [c for c in closed if isinstance(c, BaseException)]
            if failures:
                raise failures[0]

        stack.push_async_callback(close_all)
        errors = [e for e in opened if isinstance(e, BaseException)]
        if errors:
            raise errors[0]
        if on_open is not None:
            on_open()

        async def worker(client: UllcClient) -> None:
            nonlocal done
            for index in next_index:
                if index == n - 1:
                    # The last call has started: a call ending from now on has no
                    # successor to prepare for (UllcClient.prepare_ahead).
                    for each in clients:
                        each.prepare_ahead = False
                result = await client.connect(mode)
                results[index] = result
                done += 1
                if progress is not None:
                    progress(done, n, result)

        try:
            async with asyncio.TaskGroup() as group:
                for client in clients:
                    group.create_task(worker(client))
        except BaseExceptionGroup as group_error:
            # A call never raises for a failed call (SIG-14); anything here is a
            # bug or an interrupt, and callers expect the exception itself.
            raise group_error.exceptions[0] from None

    final = [r for r in results if r is not None]
    return final, CallStats.from_results(final)
