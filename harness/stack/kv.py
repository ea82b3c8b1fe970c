"""A DC component's connections to its session store (Redis, through the dc-kv hop).

Why a pool of its own: redis-py's default pool opens a new connection whenever
all are busy, up to 100, then raises "Too many connections" instead of waiting.
Under a burst of calls that meant a TCP connect through the hop per command on
the critical path, then failed lookups. Here the pool is bounded and blocking
(a command waits up to ``KV_POOL_WAIT_S`` for a free connection) and opened
before the first call needs it (:func:`warm`). One command holds a connection
for one dc-kv round trip (about a millisecond), so a few connections carry
thousands of commands per second.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions as redis_errors

from harness.stack import store_password
from harness.stack.runtime import ComponentContext

KV_POOL_WAIT_S = 1.0
"""How long a command waits for a free pooled connection: below the handler's bot
timeout (1.5 s), so a starved bot answers 503 with the cause rather than nothing."""
KV_CONNECT_TIMEOUT_S = 1.0
KV_COMMAND_TIMEOUT_S = 2.0
WARM_ATTEMPTS = 50
WARM_RETRY_S = 0.1


def session_store(
    ctx: ComponentContext, *, connections: int, command_timeout: float | None = KV_COMMAND_TIMEOUT_S
) -> aioredis.Redis:
    """A client of this DC's Redis with a blocking pool of ``connections`` connections.

    ``command_timeout`` None is for a subscriber, idle between messages by design.
    """
    host, port = ctx.plan.dial(f"dc-kv.{ctx.component.group}")
    pool = aioredis.BlockingConnectionPool(
        host=host,
        port=port,
        password=store_password.read(ctx.run_dir),
        max_connections=connections,
        timeout=KV_POOL_WAIT_S,
        socket_connect_timeout=KV_CONNECT_TIMEOUT_S,
        socket_timeout=command_timeout,
        # A pooled connection the store (or a healed fault hop) closed while it sat idle
        # fails its next command with "Connection closed by server": one immediate retry
        # on a fresh connection, instead of failing a call after the store is back.
        retry_on_error=[redis_errors.ConnectionError],
        # No CLIENT SETINFO on connect: two extra round trips per connection for a
        # label nobody reads.
        lib_name=None,
        lib_version=None,
    )
    return aioredis.Redis(connection_pool=pool)


async def warm(redis: aioredis.Redis, log: logging.Logger, connections: int | None = None) -> bool:
    """Open ``connections`` (default: all) of ``redis``'s pool, Redis may still be starting;
    True once done. The pool opens the rest on demand, up to its size."""
    pool = redis.connection_pool
    size = pool.max_connections if connections is None else min(connections, pool.max_connections)
    for _ in range(WARM_ATTEMPTS):
        taken = await asyncio.gather(
            *(pool.get_connection() for _ in range(size)),  # type: ignore[no-untyped-call]
            return_exceptions=True,
        )
        failed = [t for t in taken if isinstance(t, BaseException)]
        for connection in taken:
            if not isinstance(connection, BaseException):
                await pool.release(connection)
        if not failed:
            return True
        log.debug("session store not reachable yet: %s", failed[0])
        await asyncio.sleep(WARM_RETRY_S)
    log.warning("session store pool not warmed after %d attempts", WARM_ATTEMPTS)
    return False


class Batched:
    """Commands issued in the same event-loop turn go to Redis as one pipeline.

    Why: a burst of session creations made each store wait for a pooled connection
    and then a dc-kv round trip of its own (p50 ~250 ms per store at 500 calls with
    32 connections). A pipeline sends what is queued in one write and reads the
    answers in order, so one round trip serves the whole turn. Several pipelines
    may be in flight at once, each on its own pooled connection. Each caller gets
    its own command's answer or error, as if it had sent the command alone; a
    connection error fails every command of that pipeline.
    """

    def __init__(self, redis: aioredis.Redis, *, max_batch: int = 256) -> None:
        self.redis = redis
        self.max_batch = max_batch
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._scheduled = False

    async def eval(self, script: str, numkeys: int, *args: str | int) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(((script, numkeys, *args), future))
        if not self._scheduled:
            self._scheduled = True
            # After the current turn: whatever else this turn queues joins the pipeline.
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            asyncio.get_running_loop().create_task(self._send(batch))

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for args, _ in batch:
                    pipe.eval(*args)
                answers = await pipe.execute(raise_on_error=False)
        except (aioredis.RedisError, OSError) as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException as error:  # cancelled at shutdown: nobody may hang on us
            for _, future in batch:
                if not future.done():
                    future.set_exception(aioredis.ConnectionError(f"store interrupted: {error!r}"))
            raise
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)
