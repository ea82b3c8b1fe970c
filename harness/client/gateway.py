"""The client's persistent WebSocket to the API gateway (SIG-1..3).

Opened before any call (SIG-2) so a call never pays for a handshake; many
calls share it, each request matched to its answer by ``request_id`` (SIG-3).
A single reader task owns the receiving side and resolves one future per
request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness.errors import HarnessError, ProtocolError
from harness.signaling.messages import (
    Message,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
    parse_message,
)
from harness.signaling.validation import SignalingSchemaError

Answer = SessionCreated | SignalingError


class GatewayUnavailableError(HarnessError):
    """The gateway's WebSocket could not be opened.

    Check that the target's ``[endpoints].gateway`` URL is right and the gateway runs.
    """


class GatewayClosedError(HarnessError):
    """The gateway connection closed with requests in flight.

    The calls that were waiting fail with outcome ``gateway_closed``; open a new client.
    """


class GatewayProtocolError(ProtocolError):
    """The gateway answered a request with a frame that breaks its schema (SIG-10, SIG-12)."""


class GatewayConnection:
    """One persistent signaling connection; an async context manager."""

    def __init__(
        self,
        url: str,
        *,
        bind_ip: str | None = None,
        open_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.bind_ip = bind_ip
        self.open_timeout_s = open_timeout_s
        self.unmatched: list[Message] = []
        """Answers with no request in flight (late, duplicated or without request_id)."""
        self._connection: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Answer]] = {}
        self._closed_reason: str | None = None

    async def open(self) -> GatewayConnection:
        kwargs: dict[str, Any] = {}
        if self.bind_ip is not None:
            # Bind the TCP source too, so the gateway sees the client's region.
            family = socket.AF_INET6 if ":" in self.bind_ip else socket.AF_INET
            kwargs["local_addr"] = (self.bind_ip, 0)
            kwargs["family"] = family
        try:
            self._connection = await connect(
                self.url,
                open_timeout=self.open_timeout_s,
                # Default 1 MiB is plenty; compression only costs latency here.
                compression=None,
                **kwargs,
            )
        except (OSError, TimeoutError, ConnectionClosed) as error:
            raise GatewayUnavailableError(
                f"cannot open the gateway WebSocket {self.url}: {error}",
                hint="check [endpoints].gateway in the target file and that the gateway runs",
            ) from error
        except Exception as error:  # websockets raises InvalidURI/InvalidHandshake etc.
            raise GatewayUnavailableError(
                f"gateway WebSocket handshake with {self.url} failed: {error}",
                hint="the URL must be the gateway's ws:// or wss:// signaling endpoint (SIG-1)",
            ) from error
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aenter__(self) -> GatewayConnection:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        return self._connection is not None and self._closed_reason is None

    @property
    def local_address(self) -> tuple[str, int] | None:
        if self._connection is None:
            return None
        local = self._connection.local_address
        return (local[0], local[1])

    async def send(self, request: SessionCreateRequest) -> asyncio.Future[Answer]:
        """Send ``request``; the returned future resolves with its answer.

        The future fails with :class:`GatewayClosedError` if the connection is
        lost, or :class:`GatewayProtocolError` if the answer breaks its schema.
        """
        if self._connection is None or self._closed_reason is not None:
            raise GatewayClosedError(
                f"gateway connection {self.url} is closed"
                f" ({self._closed_reason or 'never opened'})",
                hint="open a new client; the persistent connection is per client (SIG-2)",
            )
        if request.request_id in self._pending:
            raise ValueError(f"request_id {request.request_id!r} is already in flight")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        # Registered before sending: the answer may arrive before send() returns.
        self._pending[request.request_id] = future
        try:
            await self._connection.send(json.dumps(request.to_json(), separators=(",", ":")))
        except ConnectionClosed as error:
            self._pending.pop(request.request_id, None)
            raise GatewayClosedError(
                f"gateway connection {self.url} closed while sending: {error}",
                hint="the gateway dropped the persistent connection; open a new client",
            ) from error
        return future

    def forget(self, request_id: str) -> None:
        """Stop waiting for ``request_id`` (its call ended); a late answer becomes unmatched."""
        future = self._pending.pop(request_id, None)
        if future is not None and not future.done():
            future.cancel()

    async def _read(self) -> None:
        assert self._connection is not None
        reason = "closed by the gateway"
        try:
            async for frame in self._connection:
                self._dispatch(frame)
        except ConnectionClosed as error:
            reason = f"closed: {error}"
        except asyncio.CancelledError:
            reason = "closed by the client"
            raise
        finally:
            self._closed_reason = reason
            closed = GatewayClosedError(
                f"gateway connection {self.url} {reason} with the request in flight",
                hint="the gateway must keep the connection open between calls (SIG-2)",
            )
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(closed)
            self._pending.clear()

    def _dispatch(self, frame: str | bytes) -> None:
        try:
            message = parse_message(frame)
        except SignalingSchemaError as error:
            request_id = _request_id_of(frame)
            future = self._pending.pop(request_id, None) if request_id is not None else None
            if future is not None and not future.done():
                future.set_exception(
                    GatewayProtocolError(
                        f"answer to {request_id} breaks its schema: {error.message}",
                        hint="SIG-10 and SIG-12 fix the shape of every answer",
                    )
                )
            return
        if isinstance(message, SessionCreateRequest) or message.request_id is None:
            self.unmatched.append(message)
            return
        future = self._pending.pop(message.request_id, None)
        if future is None or future.done():
            self.unmatched.append(message)
            return
        future.set_result(message)

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), timeout=2.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        self._closed_reason = self._closed_reason or "closed by the client"


def _request_id_of(frame: str | bytes) -> str | None:
    try:
        body = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return None
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, str) else None
