"""A DC's media ingress: look each check up by bot ufrag and forward it (SESS-3/4, RACE-3).

Datagrams arrive from the edge-DC hops with the edge's PROXY v2 header (the
client's address). A known ufrag goes to the owning bot instance, header kept,
through a per-(hop flow, instance) socket whose replies go back the same way.
An unknown ufrag is held for up to H and released by the ``ullc:sessions``
publish of the store (SESS-7), which names the owning instance, so the release
needs no second lookup; after H it is dropped without a word (FB-3).

Where the owner comes from: the publishes this ingress heard (every store in
the DC while it is subscribed), else one GET per ufrag. Both are remembered
until the record's time to live ends.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from harness.faults.proxy_protocol import (
    decode_v2,
    encode_v2,
)
from harness.protocol.ice import build_binding_error
from harness.protocol.ice_responder import ingress_ufrag
from harness.stack import kv
from harness.stack.defects import Defect
from harness.stack.plan import INGRESS_HOLD_S, Address
from harness.stack.relay_seal import Unsealer, read_key, seal
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp, parse_address
from harness.stack.sessions import (
    SESSION_KEY_PREFIX,
    SESSIONS_CHANNEL,
    SessionRecord,
    StoredNotice,
    session_key,
)

HOLD_PER_UFRAG = 4
HOLD_TOTAL = 10_000
FLOW_IDLE_S = 60.0
KV_CONNECTIONS = 8
"""Lookups are one dc-kv round trip each, and only for ufrags no publish named."""
HEADER_CACHE = 65_536
"""Client address -> its re-encoded v2 header (clients of live calls; cleared when full)."""


@dataclass
class _Held:
    at: float
    source: Address
    data: bytes


@dataclass
class _Flow:
    endpoint: UdpEndpoint
    last: float = field(default_factory=time.monotonic)


class Ingress:
    def __init__(self, ctx: ComponentContext) -> None:
        self.ctx = ctx
        self.dc = ctx.component.group
        self.address = ctx.plan.dcs[self.dc].ingress
        self.redis = kv.session_store(ctx, connections=KV_CONNECTIONS)
        # No command timeout on the subscriber: it is idle between stores by design.
        self.subscriber = kv.session_store(ctx, connections=1, command_timeout=None)
        self.cache: dict[str, tuple[Address, float]] = {}  # ufrag -> (instance, expires)
        self.pending: dict[str, list[_Held]] = {}  # lookups in flight
        self.held: collections.OrderedDict[str, collections.deque[_Held]] = (
            collections.OrderedDict()
        )
        self.held_total = 0
        self.looked_up: dict[str, float] = {}  # held ufrag -> when its last GET was sent
        self.subscribed_at: float | None = None  # None while the subscription is down
        # Set once every session stored before the subscription is in the cache (a SCAN
        # after it was confirmed): from then on a miss needs no GET (see _primed_miss).
        self.primed_for: float | None = None
        self.priming: asyncio.Task[None] | None = None
        self.headers: dict[Address, bytes] = {}
        self.flows: dict[tuple[Address, Address], _Flow] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.listener: UdpEndpoint | None = None
        self.defects = ctx.defects
        self.relays = ctx.plan.proxy_header_senders(ctx.component)
        self.seal_key = read_key(ctx.run_dir)
        self.unsealer = Unsealer(self.seal_key)

    # -- packet path ------------------------------------------------------------------------
    def on_datagram(self, data: bytes, source: Address) -> None:
        # Only an edge's sealed header names the client: the edge-DC hop relays anything
        # sent to it, from its own address (relay_seal.py).
        if source[0] not in self.relays:
            self.counters["discard-untrusted-sender"] += 1
            return
        opened = self.unsealer.open(data)
        if opened is None:
            self.counters["discard-unsealed-proxy-header"] += 1
            return
        client, payload = opened
        # STUN-40..42 and SESS-3 (no readable USERNAME): dropped here, before any lookup.
        ufrag = ingress_ufrag(payload)
        if ufrag is None:
            self.counters["discard-not-a-check"] += 1
            return
        # Re-encode so the bot always gets exactly one header with the client's address.
        header = self.headers.get(client)
        if header is None:
            if len(self.headers) >= HEADER_CACHE:
                self.headers.clear()
            header = self.headers[client] = seal(encode_v2(client, self.address), self.seal_key)
        now = time.monotonic()
        item = _Held(now, source, header + payload)
        cached = self.cache.get(ufrag)
        if cached is not None:
            if cached[1] > now:
                self.forward(cached[0], item)
                return
            del self.cache[ufrag]
        if ufrag in self.pending:
            self.pending[ufrag].append(item)
            return
        if self._primed_miss() or (ufrag in self.held and self._publish_will_tell(ufrag)):
            # Already looked up and missed: the store's publish releases it (RACE-3),
            # so a retransmission costs no second lookup.
            if Defect.WRONG_DC_ANSWERS_401 in self.defects:
                self._answer_401(item)
            self.hold(ufrag, item)
            return
        self._start_lookup(ufrag, [item])

    def _publish_will_tell(self, ufrag: str) -> bool:
        """True when a store after this ufrag's last lookup cannot go unheard.

        The GET was sent after the subscription was confirmed, so Redis runs the
        SUBSCRIBE before the GET, and a store that the GET missed publishes to this
        subscription. Only a subscription that dropped since then can have lost it.
        """
        subscribed_at = self.subscribed_at
        looked_up = self.looked_up.get(ufrag)
        return subscribed_at is not None and looked_up is not None and looked_up > subscribed_at

    def _primed_miss(self) -> bool:
        """True when a cache miss means "not stored yet": the store's publish will tell.

        After the subscription was confirmed, a SCAN put every session stored before it
        into the cache; every later store publishes to this subscription. So while it
        stays up a missing ufrag has no session yet, and a GET per call (a dc-kv round
        trip through redis-py, a large share of this process's CPU in a burst) would
        only confirm that.
        """
        return self.primed_for is not None and self.primed_for == self.subscribed_at

    def _start_lookup(self, ufrag: str, items: list[_Held]) -> None:
        self.pending[ufrag] = items
        self.looked_up[ufrag] = time.monotonic()
        asyncio.get_running_loop().create_task(self._lookup(ufrag))

    async def _fetch(self, ufrag: str) -> tuple[Address, float] | None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(session_key(ufrag))
                pipe.pttl(session_key(ufrag))
                raw, pttl = await pipe.execute()
        except (aioredis.RedisError, OSError) as error:
            self.ctx.log.warning("session lookup failed: %s", error)
            # A lookup that never ran proves nothing: the next datagram asks again.
            self.looked_up.pop(ufrag, None)
            return None
        if raw is None or pttl is None or pttl <= 0:
            return None
        record = SessionRecord.from_wire(raw)
        return parse_address(record.instance), time.monotonic() + pttl / 1000

    async def _lookup(self, ufrag: str) -> None:
        found = await self._fetch(ufrag)
        if found is None:
            # A publish may have overtaken our GET's miss (another connection).
            found = self.cache.get(ufrag)
        items = self.pending.pop(ufrag, [])
        if found is None:
            for item in items:
                if Defect.WRONG_DC_ANSWERS_401 in self.defects:
                    self._answer_401(item)
                self.hold(ufrag, item)
            return
        self.cache[ufrag] = found
        self._release(ufrag, found[0], items)

    def _release(self, ufrag: str, instance: Address, items: list[_Held]) -> None:
        for item in self._take_held(ufrag) + items:
            self.forward(instance, item)

    def hold(self, ufrag: str, item: _Held) -> None:
        if Defect.NO_SESSION_HOLD in self.defects:
            # The bug: "no session, no answer" applied at once, without RACE-3's hold.
            self.counters["defect-dropped-unheld"] += 1
            return
        queue = self.held.get(ufrag)
        if queue is None:
            queue = self.held[ufrag] = collections.deque()
            asyncio.get_running_loop().call_later(INGRESS_HOLD_S, self._expire, ufrag)
        for index, older in enumerate(queue):
            if older.data == item.data and older.source == item.source:
                # A retransmission of a held check (STUN-30: byte for byte the same):
                # the newest copy replaces it. Released together, copies would only
                # make the bot answer the same transaction several times at once.
                del queue[index]
                self.held_total -= 1
                self.counters["hold-replaced-copy"] += 1
                break
        if len(queue) >= HOLD_PER_UFRAG:
            queue.popleft()
            self.held_total -= 1
            self.counters["hold-dropped-oldest"] += 1
        queue.append(item)
        self.held_total += 1
        while self.held_total > HOLD_TOTAL:
            oldest_ufrag, oldest = next(iter(self.held.items()))
            oldest.popleft()
            self.held_total -= 1
            self.counters["hold-dropped-oldest"] += 1
            if not oldest:
                del self.held[oldest_ufrag]
                if oldest_ufrag not in self.pending:
                    self.looked_up.pop(oldest_ufrag, None)
        self.counters["held"] += 1

    def _take_held(self, ufrag: str) -> list[_Held]:
        self.looked_up.pop(ufrag, None)
        queue = self.held.pop(ufrag, None)
        if not queue:
            return []
        self.held_total -= len(queue)
        return list(queue)

    def _expire(self, ufrag: str) -> None:
        queue = self.held.get(ufrag)
        if queue is None:
            return
        deadline = time.monotonic() - INGRESS_HOLD_S
        while queue and queue[0].at <= deadline + 1e-3:
            queue.popleft()
            self.held_total -= 1
            # SESS-4: held past H with no session -> silently gone.
            self.counters["hold-expired"] += 1
        if queue:
            asyncio.get_running_loop().call_later(
                max(queue[0].at + INGRESS_HOLD_S - time.monotonic(), 0.001), self._expire, ufrag
            )
        else:
            del self.held[ufrag]
            if ufrag not in self.pending:
                self.looked_up.pop(ufrag, None)

    def _answer_401(self, item: _Held) -> None:
        """Defect.WRONG_DC_ANSWERS_401: plain RFC 8489 §9.1.3 for an unknown USERNAME,
        where ULLC asks for silence (STUN-44)."""
        _, payload = decode_v2(item.data)
        assert self.listener is not None
        self.listener.sendto(build_binding_error(payload, 401), item.source)
        self.counters["defect-answered-401"] += 1

    def on_published(self, message: bytes) -> None:
        """SESS-7: a store in this DC. Remember its owner; release what is held for it."""
        try:
            notice = StoredNotice.from_wire(message)
        except (ValueError, KeyError, TypeError):
            # Not this stack's notice (a bare ufrag from another implementation of the
            # bot): look the named ufrag up, as a publish without the owner requires.
            # Looked up even when nothing is held: a primed ingress (_primed_miss) takes
            # a miss for "not stored yet" and relies on the cache for stored sessions.
            ufrag = message.decode("utf-8", "replace")
            if ufrag not in self.pending:
                self._start_lookup(ufrag, [])
            return
        try:
            instance = parse_address(notice.instance)
        except ValueError:
            self.counters["discard-bad-notice"] += 1
            return
        ufrag = notice.bot_ufrag
        self.cache[ufrag] = (instance, time.monotonic() + notice.ttl_ms / 1000)
        # Checks waiting on a GET in flight go now too; the GET then finds nothing to do.
        waiting = self.pending.get(ufrag)
        if waiting:
            self.pending[ufrag] = []
        self._release(ufrag, instance, waiting or [])

    def forward(self, instance: Address, item: _Held) -> None:
        key = (item.source, instance)
        flow = self.flows.get(key)
        if flow is None:
            sock = bind_udp((self.address[0], 0))
            sock.connect(instance)
            source = item.source

            def back(data: bytes, _from: Address) -> None:
                assert self.listener is not None
                self.listener.sendto(data, source)

            flow = self.flows[key] = _Flow(UdpEndpoint(sock, back, self.ctx.log))
        flow.last = time.monotonic()
        flow.endpoint.sendto(item.data, instance)
        self.counters["forwarded"] += 1

    # -- background -------------------------------------------------------------------------
    async def subscribe(self) -> None:
        """Listen for stores on ``ullc:sessions`` (through the dc-kv hop), reconnecting."""
        while True:
            pubsub = self.subscriber.pubsub(ignore_subscribe_messages=False)
            try:
                await pubsub.subscribe(SESSIONS_CHANNEL)
                async for message in pubsub.listen():
                    kind, data = message.get("type"), message.get("data")
                    if kind == "subscribe":
                        self._subscribed()
                    elif kind == "message" and isinstance(data, bytes):
                        self.on_published(data)
            except (aioredis.RedisError, OSError) as error:
                self.ctx.log.debug("pubsub: %s; reconnecting", error)
            finally:
                self.subscribed_at = None
                self.primed_for = None
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(0.2)

    def _subscribed(self) -> None:
        """The subscription is confirmed: stores from now on are heard (_publish_will_tell)."""
        subscribed_at = self.subscribed_at = time.monotonic()
        # Stores made while we were not listening were never heard: look the held up again.
        for ufrag in list(self.held):
            if ufrag not in self.pending:
                self._start_lookup(ufrag, [])
        # Kept referenced: the loop holds only a weak reference to a task.
        self.priming = asyncio.get_running_loop().create_task(self._prime(subscribed_at))

    async def _prime(self, subscribed_at: float) -> None:
        """Cache every session stored before the subscription, then mark it primed.

        SCAN returns every key present for its whole duration, so every session stored
        before ``subscribed_at`` (and still alive) is found; later stores publish. Any
        failure leaves the ingress unprimed: it then looks up each miss, as before.
        """
        try:
            found: dict[str, tuple[Address, float]] = {}
            async for key in self.redis.scan_iter(match=f"{SESSION_KEY_PREFIX}*", count=1000):
                ufrag = (key.decode() if isinstance(key, bytes) else key)[len(SESSION_KEY_PREFIX) :]
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.get(key)
                    pipe.pttl(key)
                    raw, pttl = await pipe.execute()
                if raw is not None and pttl is not None and pttl > 0:
                    instance = parse_address(SessionRecord.from_wire(raw).instance)
                    found[ufrag] = (instance, time.monotonic() + pttl / 1000)
        except (aioredis.RedisError, OSError, ValueError, KeyError) as error:
            self.ctx.log.warning("session scan failed: %s; looking up each miss", error)
            return
        if self.subscribed_at != subscribed_at:
            return  # the subscription dropped meanwhile: its stores may be unheard
        for ufrag, owner in found.items():
            self.cache.setdefault(ufrag, owner)  # a publish heard since is as new
        self.primed_for = subscribed_at
        for ufrag in list(self.held):
            # Held before priming and looked up before the subscription (or never):
            # their store may predate it; the cache now knows, else the publish will.
            if ufrag in self.cache and ufrag not in self.pending:
                self._release(ufrag, self.cache[ufrag][0], [])

    async def warm(self) -> None:
        """Open the lookup connections before the first check needs them."""
        await kv.warm(self.redis, self.ctx.log)

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            now = time.monotonic()
            for key in [k for k, f in self.flows.items() if now - f.last > FLOW_IDLE_S]:
                self.flows.pop(key).endpoint.close()
            for ufrag in [u for u, (_, exp) in self.cache.items() if exp <= now]:
                del self.cache[ufrag]
            self.headers.clear()  # rebuilt on demand; keeps departed clients from piling up
            self.ctx.log.debug("counters %s", dict(self.counters))


async def run(ctx: ComponentContext) -> None:
    ingress = Ingress(ctx)
    ingress.listener = UdpEndpoint(bind_udp(ingress.address), ingress.on_datagram, ctx.log)
    tasks = [
        asyncio.create_task(ingress.subscribe()),
        asyncio.create_task(ingress.sweep()),
        asyncio.create_task(ingress.warm()),
    ]
    ctx.ready()
    try:
        await ctx.stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        ingress.listener.close()
        for flow in ingress.flows.values():
            flow.endpoint.close()
        await ingress.redis.aclose()
        await ingress.subscriber.aclose()
