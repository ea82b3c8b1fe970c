"""A data center: session store, ingress hold, and the bot answering at the DC's media address.

One object per DC. Checks reach it two ways: relayed in-process by an edge (the
edge's socket answers, so the client sees the edge's address answer) or sent
straight to the DC's own media address, the fallback address of FB-1.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from peers.compact import control, responder
from peers.compact.hold import HoldQueue
from peers.compact.store import Session, SessionStore
from peers.compact.udp import listen


class Conflict(Exception):
    """SIG-7: the bot ufrag is already in use in this DC."""


@dataclass(frozen=True)
class DcAddresses:
    media: tuple[str, int]
    control: tuple[str, int]


class DataCenter:
    def __init__(self, dc_id: str, addresses: DcAddresses, ttl_ms: int, hold_ms: int) -> None:
        self.dc_id = dc_id
        self.addresses = addresses
        self.instance = f"{addresses.media[0]}:{addresses.media[1]}"
        self.store = SessionStore(ttl_ms)
        self.holds = HoldQueue(hold_ms)
        self.up = asyncio.Event()
        self.up.set()
        self._transport: asyncio.DatagramTransport | None = None
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # -- media ------------------------------------------------------------------------------

    def receive(self, data: bytes, source: tuple[str, int], reply: Callable[[bytes], None]) -> None:
        """The ingress (SESS-3) and the bot (STUN-43..50) for one datagram."""
        if not self.up.is_set():
            return  # CTL-5: an outage drops datagrams
        check = responder.ingress_ufrag(data)
        if check is None:
            return
        session = self.store.get(check.bot_ufrag)
        if session is None:
            self.holds.hold(check, source, reply)  # RACE-3, or silence without a hold (SESS-4)
            return
        reply(responder.answer(check, session.bot_pwd, source))

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(self, bot_ufrag: str, bot_pwd: str, client_ufrag: str) -> Session:
        """Store the session (SESS-2) and release checks held for it (RACE-3)."""
        await self.up.wait()  # an outage holds the request until the DC is back
        if self.store.get(bot_ufrag) is not None:
            raise Conflict(f"bot ufrag {bot_ufrag!r} is already in use in {self.dc_id}")
        now = time.monotonic()
        record = Session(
            session_id=f"{self.dc_id}-{uuid.uuid4().hex}",
            bot_ufrag=bot_ufrag,
            bot_pwd=bot_pwd,
            client_ufrag=client_ufrag,
            instance=self.instance,
            created=now,
            expires=now + self.store.ttl_s,
        )
        self.store.put(record)
        for held in self.holds.release(bot_ufrag):
            held.reply(responder.answer(held.check, bot_pwd, held.source))
        return record

    def set_down(self, down: bool) -> None:
        if down:
            self.up.clear()
        else:
            self.up.set()

    # -- control (CTL-1, CTL-4, CTL-5) ------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "component": self.dc_id,
            "role": "dc",
            "status": "ok" if self.up.is_set() else "down",
        }

    def app(self, all_dcs: dict[str, DataCenter]) -> web.Application:
        async def get_health(_request: web.Request) -> web.Response:
            return web.json_response(self.health(), status=200 if self.up.is_set() else 503)

        async def get_sessions(_request: web.Request) -> web.Response:
            now = time.monotonic()
            sessions = [
                {
                    "session_id": s.session_id,
                    "bot_ufrag": s.bot_ufrag,
                    "instance": s.instance,
                    "age_ms": int((now - s.created) * 1000),
                }
                for s in self.store.live()
            ]
            return web.json_response({"dc": self.dc_id, "sessions": sessions})

        async def post_outage(request: web.Request) -> web.Response:
            try:
                body = await control.read_json(request)
            except ValueError as exc:
                return control.error(400, f"body is not JSON: {exc}")
            if not isinstance(body, dict) or set(body) != {"dc", "state"}:
                return control.error(400, 'expected {"dc": ID, "state": "down"|"up"}')
            target = all_dcs.get(body["dc"]) if isinstance(body["dc"], str) else None
            if target is None:
                return control.error(404, f"no DC {body['dc']!r}; known: {sorted(all_dcs)}")
            if body["state"] not in ("down", "up"):
                return control.error(400, f"state must be 'down' or 'up', got {body['state']!r}")
            target.set_down(body["state"] == "down")
            return web.json_response({"dc": target.dc_id, "state": body["state"]})

        app = web.Application(middlewares=[control.json_errors])
        app.router.add_get("/control/health", get_health)
        app.router.add_get("/control/sessions", get_sessions)
        app.router.add_post("/control/outage", post_outage)
        return app

    # -- life -------------------------------------------------------------------------------

    async def start(self, all_dcs: dict[str, DataCenter]) -> None:
        self._transport = await listen(*self.addresses.media, self.receive)
        self._runner = await control.serve(self.app(all_dcs), *self.addresses.control)
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.holds.expire()
            self.store.sweep()

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._transport is not None:
            self._transport.close()
        if self._runner is not None:
            await self._runner.cleanup()


def new_credentials() -> tuple[str, str]:
    """Bot ufrag (96 random bits) and password (144 bits) for sequential mode (SIG-8, SDP-6/7)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    ufrag = "".join(secrets.choice(alphabet) for _ in range(16))
    pwd = "".join(secrets.choice(alphabet) for _ in range(24))
    return ufrag, pwd
