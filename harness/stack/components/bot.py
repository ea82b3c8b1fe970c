"""A bot-service instance: creates sessions (SESS-1/2/7) and answers checks ICE-lite (STUN-40..50).

HTTP in (from the DC's request handler), UDP in (from the DC's media ingress,
each datagram prefixed with a PROXY v2 header carrying the client's address).
Checks are answered by :func:`harness.protocol.ice_responder.decide`, the
executable form of specs/stun.md, so the reference stack and the conformance
suite read the rules the same way.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

from harness.protocol.ice_responder import Decision, decide, ingress_ufrag
from harness.protocol.stun_attributes import AttributeType, encode_address
from harness.protocol.stun_integrity import fingerprint
from harness.protocol.stun_message import Method, encode_message
from harness.protocol.stun_wire import MessageClass, encode_attribute, scan
from harness.stack import kv
from harness.stack.control import BadInput, error_response, json_object, start_site, text_field
from harness.stack.defects import Defect
from harness.stack.plan import Address, BotPlan
from harness.stack.relay_seal import Unsealer, read_key
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp, format_address
from harness.stack.sessions import (
    MEDIA_KEY_PREFIX,
    SESSIONS_CHANNEL,
    SessionRecord,
    StoredNotice,
    session_key,
)

_STORE_AND_PUBLISH = """
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0
"""


ANSWERED_MEMORY = 4096  # only with Defect.ANSWERS_EACH_TRANSACTION_ONCE
KV_CONNECTIONS = 32
"""A store pipeline holds a connection for one dc-kv round trip: about a millisecond
when the machine is idle, tens of milliseconds in a burst of calls. Without
pipelining 8 connections were the queue (p50 350 ms per store at 500 simultaneous
calls, 240 ms with 32); with it 32 keep p50 near 100 ms, 8 gave ~135 ms."""
KV_WARM = 8
"""Of those, opened at start (each is a connect through the dc-kv hop while the stack
starts); the pool opens the rest when a burst needs them."""
HELD_PER_CREATE = 8
"""Checks kept for a ufrag whose store is in flight (a client retransmits; more are noise)."""
ANSWER_MEMORY = 4096
"""Successes remembered for retransmissions (see Bot.on_datagram)."""


@dataclass
class _Session:
    session_id: str
    bot_pwd: str
    expires_at: float


class Bot:
    def __init__(self, ctx: ComponentContext, bot: BotPlan) -> None:
        self.ctx = ctx
        self.bot = bot
        self.dc = ctx.component.group
        self.ttl_ms = ctx.plan.topology.session_ttl_ms
        if Defect.SESSION_TTL_UNIT_MIXUP in ctx.defects:
            # The bug: a TTL setting documented in ms, read as seconds.
            self.ttl_ms *= 1000
        self.redis = kv.session_store(ctx, connections=KV_CONNECTIONS)
        self.stores = kv.Batched(self.redis)
        self.instance = format_address(bot.media)
        self.sessions: dict[str, _Session] = {}
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.defects = ctx.defects
        self.relays = ctx.plan.proxy_header_senders(ctx.component)
        self.unsealer = Unsealer(read_key(ctx.run_dir))
        self.answered: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        # (check bytes, client address) -> (bot ufrag, password, success response).
        self.successes: dict[tuple[bytes, Address], tuple[str, str, bytes]] = {}
        # bot ufrag -> checks that arrived while its session.create's store was in flight.
        self.creating: dict[str, list[tuple[UdpEndpoint, bytes, Address]]] = {}

    # -- session creation (HTTP from the request handler) ---------------------------------
    async def create(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        bot_ufrag = text_field(body, "bot_ufrag")
        bot_pwd = text_field(body, "bot_pwd")
        record = SessionRecord(
            session_id=text_field(body, "session_id"),
            dc=self.dc,
            instance=self.instance,
            client_ufrag=text_field(body, "client_ufrag"),
            created_ms=int(time.time() * 1000),
        )
        if self.password_of(bot_ufrag) is not None or bot_ufrag in self.creating:
            # SIG-7's conflict, known here without the store. The session's password is
            # never replaced, not even for the store's round trip: that moment was a
            # window in which a stranger's password authenticated checks for a live call.
            self.outcomes["create-conflict-local"] += 1
            return error_response(f"bot ufrag already in use in {self.dc}", 409)
        # Checks for this ufrag that arrive while the store is in flight (the publish
        # below may release them before its own reply is read) wait in ``creating``
        # and are decided once we know whether the session is ours.
        self.creating[bot_ufrag] = []
        stored = 0
        failure: Exception | None = None
        try:
            # SESS-2 store (NX: SIG-7's conflict) and the SESS-7 publish that releases
            # held checks (RACE-3), in one KV round trip.
            notice = StoredNotice(bot_ufrag, self.instance, self.ttl_ms)
            stored = await self.stores.eval(
                _STORE_AND_PUBLISH, 1, session_key(bot_ufrag), record.to_wire(), self.ttl_ms,
                SESSIONS_CHANNEL, notice.to_wire(),
            )  # fmt: skip
        except (aioredis.RedisError, OSError) as error:
            failure = error
        finally:
            waiting = self.creating.pop(bot_ufrag, [])
            if stored:
                expires_at = time.monotonic() + self.ttl_ms / 1000
                self.sessions[bot_ufrag] = _Session(record.session_id, bot_pwd, expires_at)
            for endpoint, data, source in waiting:
                self.on_datagram(endpoint, data, source)
        if failure is not None:
            self.ctx.log.warning("session store failed: %s", failure)
            return error_response(f"session store of {self.dc} unavailable: {failure}", 503)
        if not stored:
            return error_response(f"bot ufrag already in use in {self.dc}", 409)
        # Debug, not info: one line per call was a measurable share of the bot's CPU in a
        # burst (a log record costs tens of microseconds); /health counts the outcomes.
        self.ctx.log.debug("session %s stored (ufrag %s)", record.session_id, bot_ufrag)
        return web.json_response({"instance": record.instance}, status=201)

    async def warm(self) -> None:
        """Open the KV connections before the first call needs them (via the dc-kv hop)."""
        await kv.warm(self.redis, self.ctx.log, KV_WARM)

    async def allocate_media(self, request: web.Request) -> web.Response:
        """Sequential baseline (SIG-9): the media endpoint is a separate allocation step."""
        body = await json_object(request)
        session_id = request.match_info["session_id"]
        media = body.get("media")
        if not (isinstance(media, dict) and isinstance(media.get("ip"), str)):
            raise BadInput("field media must be an object with ip and port")
        if not (type(media.get("port")) is int and 0 < media["port"] < 65536):
            raise BadInput("field media.port must be a port number")
        try:
            await self.redis.set(
                f"{MEDIA_KEY_PREFIX}{session_id}",
                f"{media['ip']}:{media['port']}",
                px=self.ttl_ms,
            )
        except (aioredis.RedisError, OSError) as error:
            return error_response(f"session store of {self.dc} unavailable: {error}", 503)
        return web.json_response({"media": body["media"]})

    async def health(self, request: web.Request) -> web.Response:
        body = {"component": self.ctx.name, "role": "bot", "status": "ok"}
        return web.json_response({**body, "checks": dict(self.outcomes)})

    # -- checks (UDP from the ingress) ------------------------------------------------------
    def password_of(self, bot_ufrag: str) -> str | None:
        """decide()'s session lookup (SESS-1): the bot ice-pwd of a live session."""
        session = self.sessions.get(bot_ufrag)
        if session is None:
            return None
        if time.monotonic() >= session.expires_at:
            # SESS-6: an expired session is as good as unknown.
            del self.sessions[bot_ufrag]
            return None
        return session.bot_pwd

    def on_datagram(self, endpoint: UdpEndpoint, data: bytes, source: Address) -> None:
        # Checks come from this DC's ingress only, with its sealed header naming the
        # client (relay_seal.py): anyone else could name any client address.
        if source[0] not in self.relays:
            self.outcomes["discard-untrusted-sender"] += 1
            return
        opened = self.unsealer.open(data)
        if opened is None:
            self.outcomes["discard-unsealed-proxy-header"] += 1
            return
        client, payload = opened
        if self.creating:
            ufrag = ingress_ufrag(payload)
            waiting = self.creating.get(ufrag) if ufrag is not None else None
            if waiting is not None:
                if len(waiting) < HELD_PER_CREATE:
                    waiting.append((endpoint, data, source))
                else:
                    self.outcomes["discard-held-while-creating"] += 1
                return
        if self.defects and self._defective_answer(endpoint, payload, client, source):
            return
        if Defect.BOT_SIGNS_SHA1_ONLY in self.defects:
            payload = _without_sha256(payload)
        key = (payload, client)
        if Defect.ANSWER_CACHE_KEYED_BY_TRANSACTION in self.defects:
            # The bug: "a retransmission has the same transaction ID", so the cache is
            # keyed by it: a forged check reusing an answered ID is never verified.
            key = (payload[8:20], client)
        known = self.successes.get(key)
        if known is not None and self.password_of(known[0]) == known[1]:
            # A retransmission (STUN-30: the same bytes) of a check this bot answered
            # with a success, whose session still holds the same password: decide()
            # is a pure function of (datagram, client address, password), so its
            # answer is this one again (STUN-49, RACE-5), without a second HMAC pass.
            self.outcomes["STUN-48"] += 1
            endpoint.sendto(known[2], source)
            return
        used: list[tuple[str, str | None]] = []

        def lookup(bot_ufrag: str) -> str | None:
            password = self.password_of(bot_ufrag)
            used.append((bot_ufrag, password))
            return password

        decision = decide(payload, client, lookup)
        # Counted by rule ID (never the password) for /health and the logs.
        self.outcomes[decision.requirement] += 1
        if decision.response is None:
            return
        response = self._encoded(decision)
        if decision.requirement == "STUN-48" and len(used) == 1 and used[0][1] is not None:
            if len(self.successes) >= ANSWER_MEMORY:
                self.successes.clear()
            self.successes[key] = (used[0][0], used[0][1], response)
        endpoint.sendto(response, source)

    # -- deliberate defects (harness self-test, harness/stack/defects.py) ----------------------
    def _defective_answer(
        self, endpoint: UdpEndpoint, payload: bytes, client: Address, source: Address
    ) -> bool:
        """True when a planted bug handled (or swallowed) the datagram instead of decide()."""
        if Defect.ANSWERS_EACH_TRANSACTION_ONCE in self.defects:
            # The bug: "duplicate suppression" of retransmissions, as if Binding had state.
            transaction_id = payload[8:20]
            if transaction_id in self.answered:
                self.outcomes["defect-duplicate-dropped"] += 1
                return True
            self.answered[transaction_id] = None
            if len(self.answered) > ANSWERED_MEMORY:
                self.answered.popitem(last=False)
        if Defect.INGRESS_IGNORES_INTEGRITY in self.defects:
            # The bug: "the ingress found the session, so the check is ours": sign a
            # success for any Binding request naming a session, MESSAGE-INTEGRITY unread.
            ufrag = ingress_ufrag(payload)
            password = self.password_of(ufrag) if ufrag is not None else None
            if password is not None:
                transaction_id = payload[8:20]
                response = encode_message(
                    Method.BINDING,
                    MessageClass.SUCCESS,
                    transaction_id,
                    [(AttributeType.XOR_MAPPED_ADDRESS,
                      encode_address(*client, xor_with=transaction_id))],
                    integrity_key=password.encode(),
                )  # fmt: skip
                self.outcomes["defect-unverified-success"] += 1
                endpoint.sendto(response, source)
                return True
        return False

    def _encoded(self, decision: Decision) -> bytes:
        assert decision.response is not None
        if Defect.NO_FINGERPRINT in self.defects:
            # The bug: an encoder configured without FINGERPRINT (the last 8 bytes).
            body = decision.response[:-8]
            return body[:2] + (len(body) - 20).to_bytes(2, "big") + body[4:]
        return decision.response

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for ufrag in [u for u, s in self.sessions.items() if s.expires_at <= now]:
                del self.sessions[ufrag]


def _without_sha256(payload: bytes) -> bytes:
    """Defect.BOT_SIGNS_SHA1_ONLY: the check as an RFC 5389 stack parses it: MI-SHA256
    dropped (MESSAGE-INTEGRITY stays valid: it covers nothing after itself), FINGERPRINT
    recomputed. A check signed with MI-SHA256 alone is then unsigned (400)."""
    wire = scan(payload)
    sha256 = next(
        (a for a in wire.attributes if a.type == AttributeType.MESSAGE_INTEGRITY_SHA256), None
    )
    if wire.problems or sha256 is None:
        return payload
    body = payload[: sha256.offset]
    body = body[:2] + (len(body) - 20 + 8).to_bytes(2, "big") + body[4:]
    return body + encode_attribute(AttributeType.FINGERPRINT, fingerprint(body).to_bytes(4, "big"))


async def run(ctx: ComponentContext) -> None:
    plan = ctx.plan.dcs[ctx.component.group]
    bot_plan = next(b for b in plan.bots if b.name == ctx.name)
    bot = Bot(ctx, bot_plan)
    holder: list[UdpEndpoint] = []
    endpoint = UdpEndpoint(
        bind_udp(bot_plan.media), lambda d, s: bot.on_datagram(holder[0], d, s), ctx.log
    )
    holder.append(endpoint)
    app = web.Application()
    app.router.add_post("/sessions", bot.create)
    app.router.add_post("/sessions/{session_id}/media", bot.allocate_media)
    app.router.add_get("/health", bot.health)
    runner = await start_site(app, *bot_plan.http)
    tasks = [asyncio.create_task(bot.sweep()), asyncio.create_task(bot.warm())]
    ctx.ready()
    try:
        await ctx.stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        endpoint.close()
        await runner.cleanup()
        await bot.redis.aclose()
