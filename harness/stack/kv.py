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

import redis.asyncio as aioredis

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
        max_connections=connections,
        timeout=KV_POOL_WAIT_S,
        socket_connect_timeout=KV_CONNECT_TIMEOUT_S,
        socket_timeout=command_timeout,
        # No CLIENT SETINFO on connect: two extra round trips per connection for a
        # label nobody reads.
        lib_name=None,
        lib_version=None,
    )
    return aioredis.Redis(connection_pool=pool)


async def warm(redis: aioredis.Redis, log: logging.Logger) -> bool:
    """Open every connection of ``redis``'s pool (Redis may still be starting); True once done."""
    pool = redis.connection_pool
    size = pool.max_connections
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
