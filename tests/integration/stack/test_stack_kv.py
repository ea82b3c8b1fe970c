"""The components' session-store client against a real redis-server: each caller of a
pipelined batch gets its own answer or its own error (harness/stack/kv.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from harness.stack.kv import Batched
from harness.stack.local.backend import find_redis_server

SET_NX = "return redis.call('SET', KEYS[1], ARGV[1], 'NX') and 1 or 0"
BROKEN = "return redis.call('NO-SUCH-COMMAND')"


@pytest.fixture
def redis_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [find_redis_server(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--logfile", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=5)


def test_each_caller_of_a_batch_gets_its_own_answer(redis_port: int) -> None:
    async def scenario() -> list[object]:
        client = aioredis.Redis(host="127.0.0.1", port=redis_port)
        batched = Batched(client)
        try:
            calls = [batched.eval(SET_NX, 1, f"k{i % 5}", str(i)) for i in range(10)]
            calls.append(batched.eval(BROKEN, 0))
            answers: list[object] = await asyncio.gather(*calls, return_exceptions=True)
            return answers
        finally:
            await client.aclose()

    answers = asyncio.run(scenario())
    # Queued in one turn, run in order: the first SET of each key wins (NX), later ones
    # lose, and the broken script fails only its own caller.
    assert answers[:10] == [1] * 5 + [0] * 5
    assert isinstance(answers[10], ResponseError)


def test_a_dead_store_fails_every_caller() -> None:
    async def scenario() -> list[object]:
        # Port 1: nothing listens, the connect is refused at once.
        client = aioredis.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        batched = Batched(client)
        try:
            calls = [batched.eval(SET_NX, 1, "k", "v") for _ in range(3)]
            answers: list[object] = await asyncio.gather(*calls, return_exceptions=True)
            return answers
        finally:
            await client.aclose()

    answers = asyncio.run(scenario())
    assert all(isinstance(a, aioredis.ConnectionError | OSError) for a in answers), answers
