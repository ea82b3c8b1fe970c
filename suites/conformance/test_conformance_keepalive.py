"""The gateway connection is a long-lived one (SIG-2): pings are answered, and a connection
left idle between calls still carries the next call's request.

The client here sends no keepalive of its own (``ping_interval=None``), so an idle
connection stays idle. SIG-2 asks an idle connection to live at least 60 s (a SHOULD);
the default run waits ``IDLE_S``, enough to catch an idle reaper set in seconds, and
keeps the suite fast.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from harness.conformance.session import media_address
from harness.conformance.signaling import valid_request
from harness.fixtures.target_session import RunningTarget

pytestmark = pytest.mark.conformance

IDLE_S = 6.0
PONG_TIMEOUT_S = 2.0


async def _keepalive(target: RunningTarget) -> tuple[bool, dict[str, Any]]:
    from websockets.asyncio.client import connect

    edge_ip = (await media_address(target.target))[0]
    kwargs: dict[str, Any] = {"compression": None, "open_timeout": 5.0, "ping_interval": None}
    bind_ip = target.target.client.bind_ip
    if bind_ip is not None:
        kwargs["local_addr"] = (bind_ip, 0)
        kwargs["family"] = socket.AF_INET6 if ":" in bind_ip else socket.AF_INET
    async with connect(target.target.endpoints.require_gateway(), **kwargs) as ws:
        pong = await ws.ping(b"ullc-harness")
        try:
            await asyncio.wait_for(pong, PONG_TIMEOUT_S)
            ponged = True
        except TimeoutError:
            ponged = False
        await asyncio.sleep(IDLE_S)
        request = valid_request(target.target, edge_ip, request_id="conf.after-idle")
        await ws.send(json.dumps(request))
        timeout = target.target.limits.signaling_timeout_ms / 1000 + 1
        answer = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return ponged, answer


@pytest.mark.requirements("SIG-2", "SIG-3")
def test_gateway_answers_pings_and_keeps_an_idle_connection(ullc_target: RunningTarget) -> None:
    if ullc_target.capabilities.stun_only:
        pytest.skip("a STUN-only target has no gateway (TGT-5)")
    from websockets.exceptions import ConnectionClosed

    try:
        ponged, answer = asyncio.run(_keepalive(ullc_target))
    except ConnectionClosed as closed:
        pytest.fail(f"SIG-2: the gateway closed a connection idle for {IDLE_S} s: {closed}")

    assert ponged, f"SIG-2: no pong within {PONG_TIMEOUT_S} s of a WebSocket ping"
    assert answer.get("type") == "session.created", answer
    assert answer.get("request_id") == "conf.after-idle", answer
