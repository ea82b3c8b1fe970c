"""SESS-6 with a short-TTL world: an expired session is gone from Redis and says nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from aioice import stun
from ullc_stack_helpers import (
    Creds,
    check,
    client_socket,
    create_request,
    is_authentic_success,
    open_gateway,
    ping_until_answer,
    receive,
    signal,
    store,
)

from harness.stack.local.backend import LocalBackend, start_local_stack
from harness.stack.topology import default_topology_path

TTL_MS = 1000


def _small_world(tmp_path: Path) -> Path:
    body = json.loads(default_topology_path().read_text())
    body.update(name="short-ttl", session_ttl_ms=TTL_MS, bot_instances=1)
    path = tmp_path / "short-ttl.json"
    path.write_text(json.dumps(body))
    return path


def _exists(stack: LocalBackend, key: str) -> bool:
    with store(stack, "dc-us") as client:
        return bool(client.exists(key))


@pytest.mark.slow  # end to end, long: kept out of the 5-min default run, .ci/run runs -m slow
def test_sessions_expire_from_redis_and_then_get_no_answer(tmp_path: Path) -> None:
    with start_local_stack(_small_world(tmp_path), timeout=30) as stack:
        edge = stack.plan.edge_public("edge-us")
        creds = Creds.new()
        with open_gateway(stack) as ws, client_socket(stack) as sock:
            created = signal(ws, create_request(creds, edge[0]))
            stored_at = time.monotonic()
            assert created["type"] == "session.created"
            assert _exists(stack, f"ullc:session:{creds.bot_ufrag}")
            assert is_authentic_success(
                ping_until_answer(sock, edge, check(creds)[0]), creds.bot_pwd
            )
            time.sleep(max(TTL_MS / 1000 + 0.3 - (time.monotonic() - stored_at), 0))
            assert not _exists(stack, f"ullc:session:{creds.bot_ufrag}")
            sent = set()
            for _ in range(6):
                datagram, transaction_id = check(creds)
                sent.add(transaction_id)
                sock.sendto(datagram, edge)
            # Answers to the retransmissions before expiry may still sit in the buffer.
            answered = []
            while (data := receive(sock, 0.8)) is not None:
                answered.append(stun.parse_message(data).transaction_id)
            assert not sent & set(answered)
