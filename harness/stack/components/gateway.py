"""The API gateway: the client's persistent WebSocket, routing by latency map (SIG-1..14, ROUTE-1).

Each text frame is validated with :mod:`harness.signaling`; a valid
``session.create`` goes to the DC ``route(map, edge_ip)`` picks (sequential mode:
the map's default DC) over the gateway-DC hop, and the DC's answer becomes
``session.created`` or ``error``. Requests on one connection run concurrently
(SIG-3) and every one gets exactly one answer within the timeout (SIG-12/13).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from yarl import URL

from harness.signaling import (
    BotCredentials,
    ErrorCode,
    MediaAddress,
    Mode,
    SchemaViolation,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
    validate,
)
from harness.stack.control import MapHolder, control_routes, start_site
from harness.stack.defects import Defect
from harness.stack.edge_ips import EdgeAddresses
from harness.stack.maps import stale_map, true_map
from harness.stack.plan import GATEWAY_PATH, SIGNALING_TIMEOUT_S
from harness.stack.request_deadline import REQUEST_DEADLINE_S
from harness.stack.runtime import ComponentContext

KEEPALIVE_S = 5.0
WARM_CONNECTIONS = 256
"""Keep-alive connections opened to each DC at start. HTTP/1.1 holds a connection per
request for a gateway-DC round trip, so N simultaneous calls need N connections (the
pool has no limit and grows beyond this). Opened during a burst of 500 calls, each
cost a connect through the hop and a new protocol on both sides: ~0.8 s of CPU, p99
1.9-2.4 s instead of 1.5-1.7 s. Opened at start they cost ~0.2 s of start-up time,
and opened later they collided with whatever ran then."""
IDLE_REAP_S = 3.0
"""Defect.GATEWAY_REAPS_IDLE_CONNECTIONS only."""
WARM_ATTEMPTS = 100
WARM_RETRY_S = 0.05
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def known_dcs(ctx: ComponentContext) -> frozenset[str] | None:
    """The DCs a routing component accepts in a map (ROUTE-4); None accepts any."""
    if Defect.MAPS_NAMING_UNKNOWN_DCS_ACCEPTED in ctx.defects:
        return None
    return frozenset(ctx.plan.dcs)


class Gateway:
    def __init__(self, ctx: ComponentContext) -> None:
        self.ctx = ctx
        # Defect.GATEWAY_ON_OTHER_MAP: a deploy that left the gateway on another version.
        on_other_map = Defect.GATEWAY_ON_OTHER_MAP in ctx.defects
        self.maps = MapHolder(
            stale_map(ctx.plan) if on_other_map else true_map(ctx.plan),
            # ROUTE-4. Defect.MAPS_NAMING_UNKNOWN_DCS_ACCEPTED: the schema is all that is checked.
            known_dcs=known_dcs(ctx),
        )
        self.http: aiohttp.ClientSession | None = None
        self.answered = 0
        self.edges = EdgeAddresses.of(ctx.plan)
        self._urls: dict[tuple[str, str], URL] = {}

    def _dc_url(self, dc: str, path: str) -> URL:
        # Parsed once: aiohttp parses a str URL on every request (host IDNA encoding
        # included), a visible share of the gateway's CPU in a burst of calls.
        url = self._urls.get((dc, path))
        if url is None:
            host, port = self.ctx.plan.dial(f"gateway-dc.{dc}")
            url = self._urls[(dc, path)] = URL(f"http://{host}:{port}{path}")
        return url

    async def connection(self, ws: ServerConnection) -> None:
        tasks: set[asyncio.Task[None]] = set()
        if Defect.GATEWAY_REAPS_IDLE_CONNECTIONS in self.ctx.defects:
            reaper = asyncio.create_task(self._reap_when_idle(ws))
            tasks.add(reaper)
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    if Defect.GATEWAY_CLOSES_ON_BINARY_FRAME in self.ctx.defects:
                        await ws.close(1003, "binary frames are not supported")
                        return
                    # SIG-1: binary frames get an error, the connection stays open.
                    error = SignalingError(
                        ErrorCode.BAD_REQUEST, "binary frames are not signaling (SIG-1)", False
                    )
                    await self._send(ws, error.to_json())
                    continue
                task = asyncio.create_task(self._request(ws, frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()

    async def _reap_when_idle(self, ws: ServerConnection) -> None:
        """Defect.GATEWAY_REAPS_IDLE_CONNECTIONS: an HTTP-style idle timeout of a few seconds
        on a connection that is meant to live between calls (SIG-2)."""
        seen = self.answered
        while True:
            await asyncio.sleep(IDLE_REAP_S)
            if self.answered == seen:
                await ws.close(1001, "idle")
                return
            seen = self.answered

    async def _send(self, ws: ServerConnection, body: dict[str, Any]) -> None:
        try:
            await ws.send(json.dumps(body))
            self.answered += 1
        except ConnectionClosed:
            self.ctx.log.debug("client left before its answer")

    async def _request(self, ws: ServerConnection, text: str) -> None:
        try:
            answer = await self.handle(text)
        except Exception as error:
            # SIG-12: a request gets exactly one answer even when the gateway itself fails.
            self.ctx.log.exception("request failed")
            answer = SignalingError(
                ErrorCode.INTERNAL, f"gateway failed: {type(error).__name__}", False
            ).to_json()
        await self._send(ws, answer)

    async def handle(self, text: str) -> dict[str, Any]:
        """One request frame -> one answer body (SIG-12: never none, never two)."""
        try:
            body = json.loads(text)
        except RecursionError:
            # A deeply nested array (100,000 levels) exhausts the parser's recursion.
            return SignalingError(ErrorCode.BAD_REQUEST, "JSON nested too deeply", False).to_json()
        except ValueError as error:
            return SignalingError(ErrorCode.BAD_REQUEST, f"not JSON: {error}", False).to_json()
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not (isinstance(request_id, str) and _REQUEST_ID.match(request_id)):
            request_id = None
        if not isinstance(body, dict) or body.get("type") != "session.create":
            return SignalingError(
                ErrorCode.BAD_REQUEST, "expected a session.create message", False, request_id
            ).to_json()
        try:
            violations = validate(body)
        except RecursionError:
            # Nesting that json.loads accepted can still be too deep to describe.
            violations = [SchemaViolation("(root)", "nested too deeply")]
        if violations:
            # SIG-6: name the offending field; create nothing.
            details = "; ".join(f"{v.path}: {v.message}" for v in violations)
            return SignalingError(
                ErrorCode.BAD_REQUEST,
                f"invalid session.create: {details}"[:2048],
                False,
                request_id,
            ).to_json()
        request = SessionCreateRequest.from_json(body)
        if request.mode is Mode.ULLC and not self.edges.knows(request.edge_ip):
            # SIG-18: an address that is none of our edges is refused, never routed.
            return self._error(ErrorCode.BAD_REQUEST, self.edges.refusal(request.edge_ip), request)
        latency_map = self.maps.current  # one version for the whole decision (ROUTE-5)
        if request.mode is Mode.ULLC:
            assert request.edge_ip is not None
            dc = latency_map.route(request.edge_ip)
        else:
            dc = latency_map.default_dc
        if dc not in self.ctx.plan.dcs:
            return self._error(ErrorCode.UNAVAILABLE, f"map routes to unknown DC {dc!r}", request)
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for wraps the request in a task
            # of its own, a visible cost per call in a burst.
            async with asyncio.timeout(SIGNALING_TIMEOUT_S):
                answer = await self._forward(dc, body)
        except TimeoutError:
            return self._error(
                ErrorCode.TIMEOUT, f"{dc} did not answer within {SIGNALING_TIMEOUT_S:g} s", request
            )
        except aiohttp.ClientError as error:
            return self._error(ErrorCode.UNAVAILABLE, f"{dc} unreachable: {error}", request)
        status, reply = answer
        if status != 201:
            code = reply.get("code", "internal")
            try:
                error_code = ErrorCode(code)
            except ValueError:
                error_code = ErrorCode.INTERNAL
            message = str(reply.get("message") or f"{dc} answered HTTP {status}")
            return self._error(error_code, message, request)
        created = SessionCreated(
            request_id=request.request_id,
            session_id=reply["session_id"],
            dc=reply["dc"],
            media=MediaAddress(reply["media"]["ip"], int(reply["media"]["port"])),
            map_version=latency_map.version,
            bot=BotCredentials.from_json(reply["bot"]) if "bot" in reply else None,
        )
        response = created.to_json()
        if Defect.RESPONSE_WITHOUT_DC_LOCATION in self.ctx.defects:
            # The bug: the DC's location treated as internal and stripped at the edge of
            # the API, leaving a client whose bet lost nowhere to fall back to.
            del response["dc"], response["media"]
        return response

    def _error(
        self, code: ErrorCode, message: str, request: SessionCreateRequest
    ) -> dict[str, Any]:
        retryable = code in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT)
        self.ctx.log.info("request %s: %s %s", request.request_id, code.value, message)
        return SignalingError(code, message, retryable, request.request_id).to_json()

    async def _forward(self, dc: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert self.http is not None
        url = self._dc_url(dc, "/v1/sessions")
        async with self.http.post(url, json={"request": body}) as reply:
            data = await reply.json(content_type=None)
            return reply.status, data if isinstance(data, dict) else {}

    async def _health(self, dc: str) -> bool:
        """One health request to ``dc``; True when it answered (its connection is kept)."""
        assert self.http is not None
        try:
            async with self.http.get(self._dc_url(dc, "/control/health")) as reply:
                await reply.read()
                return reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _warm(self, dc: str) -> None:
        # The gateway is often up before the DC's handler, and a request to a handler
        # that is not listening yet leaves no connection behind: wait for an answer.
        for _ in range(WARM_ATTEMPTS):
            if await self._health(dc):
                break
            await asyncio.sleep(WARM_RETRY_S)
        # Concurrent requests, so that each opens (and then keeps) a connection.
        await asyncio.gather(*(self._health(dc) for _ in range(WARM_CONNECTIONS)))

    async def keepalive(self) -> None:
        """Keep warm connections to each DC so a call does not pay the TCP handshake."""
        await asyncio.gather(*(self._warm(dc) for dc in self.ctx.plan.dcs))
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            for dc in self.ctx.plan.dcs:
                await self._health(dc)


def _only_signaling_path(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.split("?")[0] != GATEWAY_PATH:
        body = f"not found: the signaling endpoint is {GATEWAY_PATH}\n".encode()
        return Response(HTTPStatus.NOT_FOUND, "Not Found", Headers(), body)
    return None


def _connection_log() -> logging.Logger:
    """websockets' server log without its two INFO lines per connection (open, closed).

    Every call opens its own connection, so those lines were a record per call and end,
    a measurable share of the gateway's CPU in a burst; warnings and errors still show.
    """
    log = logging.getLogger("websockets.server")
    log.setLevel(logging.WARNING)
    return log


async def run(ctx: ComponentContext) -> None:
    gateway = Gateway(ctx)
    gateway.http = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=SIGNALING_TIMEOUT_S),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
    )
    app = web.Application()
    control_routes(
        app,
        component="gateway",
        role="gateway",
        maps=gateway.maps,
        log=ctx.log,
    )
    runner = await start_site(app, *ctx.plan.gateway_control)
    host, port = ctx.plan.gateway_bind
    async with serve(
        gateway.connection,
        host,
        port,
        process_request=_only_signaling_path,
        compression=None,  # one-frame JSON messages: deflate costs more than it saves
        # A stalled HTTP upgrade is closed like a stalled request on the other servers.
        open_timeout=REQUEST_DEADLINE_S,
        ping_interval=20,
        ping_timeout=60,
        logger=_connection_log(),
    ):
        keepalive = asyncio.create_task(gateway.keepalive())
        ctx.ready()
        try:
            await ctx.stop.wait()
        finally:
            keepalive.cancel()
            await runner.cleanup()
            await gateway.http.close()
