"""Raw frames on one gateway WebSocket: what the target answers, and whether it still listens.

The client's :class:`~harness.client.gateway.GatewayConnection` refuses to send what
the schema forbids; a conformance or fuzz probe must send exactly that. A
:class:`SignalingProbe` keeps one connection open across frames so a test can
show that an invalid request neither closes it (SIG-1) nor goes unanswered (SIG-12).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from harness.client.offer import CallOffer
from harness.conformance.errors import ProbeSetupError
from harness.signaling.messages import Mode, SessionCreateRequest
from harness.signaling.validation import SchemaViolation, validate
from harness.target.model import Target


@dataclass(frozen=True)
class RawAnswer:
    """One answer frame: its text, the JSON body (None if not JSON) and schema violations."""

    text: str | None
    body: Any = None
    violations: tuple[SchemaViolation, ...] = field(default=())
    timed_out: bool = False
    closed: bool = False
    """The gateway closed the connection instead of answering."""

    @property
    def type(self) -> str | None:
        return self.body.get("type") if isinstance(self.body, dict) else None

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def message(self) -> str:
        value = self.body.get("message") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def request_id(self) -> str | None:
        value = self.body.get("request_id") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    @property
    def well_formed(self) -> bool:
        """A JSON object that matches the schema of its ``type`` (SIG-10, SIG-12)."""
        return self.body is not None and not self.violations


def valid_request(target: Target, edge_ip: str, *, request_id: str | None = None) -> dict[str, Any]:
    """A schema-valid ULLC ``session.create`` body with fresh credentials."""
    offer = CallOffer.generate()
    return SessionCreateRequest(
        request_id=request_id or f"probe.{secrets.token_hex(6)}",
        mode=Mode.ULLC,
        client=offer.client_offer(),
        bot=offer.bot_credentials(),
        edge_ip=edge_ip,
    ).to_json()


class SignalingProbe:
    """One raw WebSocket to the gateway (``async with``); :meth:`send` returns the answer."""

    def __init__(self, target: Target, *, timeout_s: float | None = None) -> None:
        self.target = target
        self.timeout_s = (
            timeout_s if timeout_s is not None else target.limits.signaling_timeout_ms / 1000 + 1
        )
        self._connection: Any = None

    async def __aenter__(self) -> SignalingProbe:
        from websockets.asyncio.client import connect

        kwargs: dict[str, Any] = {"compression": None, "open_timeout": 5.0}
        bind_ip = self.target.client.bind_ip
        if bind_ip is not None:
            kwargs["local_addr"] = (bind_ip, 0)
            kwargs["family"] = socket.AF_INET6 if ":" in bind_ip else socket.AF_INET
        try:
            self._connection = await connect(self.target.endpoints.require_gateway(), **kwargs)
        except (OSError, TimeoutError) as error:
            raise ProbeSetupError(
                f"cannot open the gateway WebSocket {self.target.endpoints.gateway}: {error}",
                hint="check [endpoints].gateway and that the gateway runs (SIG-1)",
            ) from error
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def send(self, frame: str | bytes | dict[str, Any]) -> RawAnswer:
        """Send one frame (a dict is sent as JSON text, bytes as a binary frame)."""
        from websockets.exceptions import ConnectionClosed

        if self._connection is None:
            raise ProbeSetupError("SignalingProbe.send outside `async with`")
        payload = json.dumps(frame) if isinstance(frame, dict) else frame
        try:
            await self._connection.send(payload)
            raw = await asyncio.wait_for(self._connection.recv(), self.timeout_s)
        except TimeoutError:
            return RawAnswer(None, timed_out=True)
        except ConnectionClosed:
            return RawAnswer(None, closed=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            body = json.loads(text)
        except ValueError:
            return RawAnswer(text, None, (SchemaViolation("(root)", "answer is not JSON"),))
        return RawAnswer(text, body, tuple(validate(body)))
