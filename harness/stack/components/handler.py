"""A DC's request handler: session creation from the gateway, and the DC's control API.

``POST /v1/sessions`` carries the validated ``session.create`` body. ULLC mode
creates the session with the client's bot credentials (SESS-1); sequential mode
(SIG-9) allocates credentials here, creates the session and then, as a separate
step, allocates the media endpoint. Either way the answer leaves only after the
bot stored the session (SESS-2, SIG-11).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from yarl import URL

from harness.signaling import validate
from harness.stack import kv
from harness.stack.control import BadInput, control_routes, error_response, json_object, start_site
from harness.stack.defects import Defect
from harness.stack.edge_ips import EdgeAddresses
from harness.stack.plan import Address, DcPlan
from harness.stack.runtime import ComponentContext
from harness.stack.sessions import SESSION_KEY_PREFIX, SessionRecord

BOT_TIMEOUT_S = 1.5  # below the gateway's 2 s (SIG-13) so the gateway hears the real cause
BOT_CONNECTIONS = 32
"""Keep-alive connections per bot instance, opened at start so that the first calls
pay no connect. A burst opens more (no cap): a request holds its connection until
the bot has stored the session, and a cap of 16 became a queue of hundreds of
milliseconds in front of the bots under 500 simultaneous calls."""
KV_CONNECTIONS = 2  # the control API's session listing only; never on a call's path


def bot_sdp(ufrag: str, pwd: str, media: Address, *, lite: bool = True) -> str:
    """The bot's answer SDP in sequential mode: ICE-lite, one host candidate (specs/sdp.md)."""
    ip, port = media
    return "\r\n".join(
        [
            "v=0",
            f"o=- {secrets.randbits(62)} 1 IN IP4 {ip}",
            "s=-",
            "t=0 0",
            *(["a=ice-lite"] if lite else []),
            "a=group:BUNDLE 0",
            f"m=audio {port} UDP/TLS/RTP/SAVPF 111",
            f"c=IN IP4 {ip}",
            "a=rtpmap:111 opus/48000/2",
            "a=mid:0",
            "a=rtcp-mux",
            "a=setup:passive",
            f"a=ice-ufrag:{ufrag}",
            f"a=ice-pwd:{pwd}",
            "a=fingerprint:sha-256 " + ":".join(f"{b:02X}" for b in secrets.token_bytes(32)),
            f"a=candidate:1 1 udp 2130706431 {ip} {port} typ host",
            "",
        ]
    )


class Handler:
    def __init__(self, ctx: ComponentContext, dc: DcPlan) -> None:
        self.ctx = ctx
        self.dc = dc
        self.instances = itertools.cycle(dc.bots)
        self.redis = kv.session_store(ctx, connections=KV_CONNECTIONS)
        self.http: aiohttp.ClientSession | None = None
        self.edges = EdgeAddresses.of(ctx.plan)
        # Parsed once per bot instance: aiohttp parses a str URL on every request.
        self.sessions_urls = {
            bot.http: URL(f"http://{bot.http[0]}:{bot.http[1]}/sessions") for bot in dc.bots
        }
        self.created: dict[str, dict[str, Any]] = {}
        """Defect.LISTING_SHOWS_CREDENTIALS only: creation bodies kept for the listing."""

    def media_for(self, edge_ip: str | None) -> Address:
        """FB-1: the pinned port, for this DC, of the edge the client pings (or the home edge)."""
        plan = self.ctx.plan
        edge = self.edges.edge(edge_ip)
        return plan.pin_address(edge or plan.topology.home_edge(self.dc.name), self.dc.name)

    async def _bot_call(self, url: URL, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert self.http is not None
        async with self.http.post(url, json=body) as reply:
            return reply.status, await reply.json(content_type=None)

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        """The session.create the gateway forwarded; BadInput unless it is one (SIG-6)."""
        message = body.get("request")
        if not isinstance(message, dict):
            raise BadInput("field request must be a session.create object")
        violations = validate(message, "session-create-request")
        if violations:
            details = "; ".join(f"{v.path}: {v.message}" for v in violations)
            raise BadInput(f"invalid session.create: {details}"[:2048])
        if message["mode"] == "ullc" and not self.edges.knows(message["edge_ip"]):
            raise BadInput(self.edges.refusal(message["edge_ip"]))  # SIG-18
        return message

    async def create(self, request: web.Request) -> web.Response:
        try:
            message = self._message(await json_object(request))
        except RecursionError:
            raise BadInput("session.create nested too deeply") from None
        sequential = message["mode"] == "sequential"
        if sequential:
            bot_ufrag = secrets.token_hex(8)  # SIG-8: 64 random bits
            bot_pwd = secrets.token_hex(16)  # 128 random bits
        else:
            bot_ufrag = message["bot"]["ice_ufrag"]
            bot_pwd = message["bot"]["ice_pwd"]
        session_id = f"{self.dc.name}-{secrets.token_hex(8)}"
        instance = next(self.instances)
        sessions_url = self.sessions_urls[instance.http]
        create_body = {
            "session_id": session_id,
            "bot_ufrag": bot_ufrag,
            "bot_pwd": bot_pwd,
            "client_ufrag": message["client"]["ice_ufrag"],
        }
        if Defect.LISTING_SHOWS_CREDENTIALS in self.ctx.defects:
            self.created[session_id] = create_body
        try:
            status, reply = await self._bot_call(sessions_url, create_body)
            if status == 409:
                return web.json_response(
                    {"code": "conflict", "message": reply.get("error", "ufrag in use")},
                    status=409,
                )
            if status != 201:
                return web.json_response(
                    {"code": "unavailable", "message": reply.get("error", f"bot said {status}")},
                    status=503,
                )
            media = self.media_for(message.get("edge_ip"))
            answer: dict[str, Any] = {"session_id": session_id, "dc": self.dc.name}
            if sequential:
                # The baseline's second step: a media endpoint allocated after the session.
                media_body = {"media": {"ip": media[0], "port": media[1]}}
                status, _ = await self._bot_call(sessions_url / session_id / "media", media_body)
                if status != 200:
                    return web.json_response(
                        {"code": "unavailable", "message": "media allocation failed"}, status=503
                    )
                answer["bot"] = {
                    "ice_ufrag": bot_ufrag,
                    "ice_pwd": bot_pwd,
                    "sdp": bot_sdp(
                        bot_ufrag,
                        bot_pwd,
                        media,
                        lite=Defect.SEQUENTIAL_SDP_WITHOUT_ICE_LITE not in self.ctx.defects,
                    ),
                }
            answer["media"] = {"ip": media[0], "port": media[1]}
        except (aiohttp.ClientError, TimeoutError) as error:
            self.ctx.log.warning("bot %s did not answer: %s", instance.name, error)
            return web.json_response(
                {"code": "unavailable", "message": f"bot instance {instance.name} unavailable"},
                status=503,
            )
        return web.json_response(answer, status=201)

    async def warm(self) -> None:
        """Open the keep-alive connections to every bot instance before the first call."""
        assert self.http is not None
        http = self.http

        async def health(url: str) -> None:
            async with http.get(url) as reply:
                await reply.read()

        urls = [f"http://{bot.http[0]}:{bot.http[1]}/health" for bot in self.dc.bots]
        for _ in range(50):
            try:
                # Concurrent requests, so that each opens (and then keeps) a connection.
                await asyncio.gather(*(health(url) for url in urls for _ in range(BOT_CONNECTIONS)))
                return
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)

    async def sessions(self, request: web.Request) -> web.Response:
        """CTL-4: the DC's sessions, from its store; no passwords are stored, none shown."""
        now_ms = int(time.time() * 1000)
        listed = []
        try:
            async for key in self.redis.scan_iter(match=f"{SESSION_KEY_PREFIX}*", count=500):
                raw = await self.redis.get(key)
                if raw is None:
                    continue
                record = SessionRecord.from_wire(raw)
                listed.append(
                    {
                        "session_id": record.session_id,
                        "bot_ufrag": key.decode()[len(SESSION_KEY_PREFIX) :],
                        "instance": record.instance,
                        "age_ms": max(now_ms - record.created_ms, 0),
                        # Defect.LISTING_SHOWS_CREDENTIALS: a "debug" listing that
                        # serialises the whole creation request, bot password included.
                        **self.created.get(record.session_id, {}),
                    }
                )
        except (aioredis.RedisError, OSError) as error:
            return error_response(f"session store unavailable: {error}", 503)
        return web.json_response({"dc": self.dc.name, "sessions": listed})


async def run(ctx: ComponentContext) -> None:
    dc = ctx.plan.dcs[ctx.component.group]
    handler = Handler(ctx, dc)
    handler.http = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=BOT_TIMEOUT_S),
        json_serialize=json.dumps,
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60),
    )
    app = web.Application()
    app.router.add_post("/v1/sessions", handler.create)
    app.router.add_get("/control/sessions", handler.sessions)
    control_routes(app, component=dc.name, role="dc", maps=None, log=ctx.log)
    runner = await start_site(app, *dc.handler)
    warm = asyncio.create_task(handler.warm())
    ctx.ready()
    try:
        await ctx.stop.wait()
    finally:
        warm.cancel()
        await runner.cleanup()
        await handler.http.close()
        await handler.redis.aclose()
