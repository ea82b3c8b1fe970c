"""A DC's media ingress: look each check up by bot ufrag and forward it (SESS-3/4, RACE-3).

Datagrams arrive from the edge-DC hops with the edge's PROXY v2 header (the
client's address). A known ufrag goes to the owning bot instance, header kept,
through a per-(hop flow, instance) socket whose replies go back the same way.
An unknown ufrag is held for up to H and released by the ``ullc:sessions``
publish of the store; after H it is dropped without a word (FB-3).
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from harness.errors import ProtocolError
from harness.faults.proxy_protocol import decode_v2, encode_v2
from harness.protocol.ice import build_binding_error
from harness.protocol.ice_responder import ingress_ufrag
from harness.stack.defects import Defect
from harness.stack.plan import Address
from harness.stack.runtime import ComponentContext, UdpEndpoint, bind_udp, parse_address
from harness.stack.sessions import SESSIONS_CHANNEL, SessionRecord, session_key

HOLD_S = 0.250  # RACE-3 H
HOLD_PER_UFRAG = 4
HOLD_TOTAL = 10_000
FLOW_IDLE_S = 60.0
# A publish that overtakes our own GET miss must still release the check (see _lookup).
RECENT_PUBLISH_S = 1.0


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
        host, port = ctx.plan.dial(f"dc-kv.{self.dc}")
        self.redis = aioredis.Redis(
            host=host, port=port, socket_connect_timeout=1.0, socket_timeout=2.0
        )
        # No socket timeout on the subscriber: it is idle between stores by design.
        self.subscriber = aioredis.Redis(host=host, port=port, socket_connect_timeout=1.0)
        self.cache: dict[str, tuple[Address, float]] = {}  # ufrag -> (instance, expires)
        self.pending: dict[str, list[_Held]] = {}  # lookups in flight
        self.held: collections.OrderedDict[str, collections.deque[_Held]] = (
            collections.OrderedDict()
        )
        self.held_total = 0
        self.recent_publish: dict[str, float] = {}
        self.flows: dict[tuple[Address, Address], _Flow] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.listener: UdpEndpoint | None = None
        self.defects = ctx.defects

    # -- packet path ------------------------------------------------------------------------
    def on_datagram(self, data: bytes, source: Address) -> None:
        try:
            header, payload = decode_v2(data)
        except ProtocolError:
            self.counters["discard-bad-proxy-header"] += 1
            return
        client = header.src if header is not None and header.src is not None else source
        # STUN-40..42 and SESS-3 (no readable USERNAME): dropped here, before any lookup.
        ufrag = ingress_ufrag(payload)
        if ufrag is None:
            self.counters["discard-not-a-check"] += 1
            return
        # Re-encode so the bot always gets exactly one header with the client's address.
        framed = encode_v2(client, self.address) + payload
        item = _Held(time.monotonic(), source, framed)
        cached = self.cache.get(ufrag)
        if cached is not None:
            if cached[1] > time.monotonic():
                self.forward(cached[0], item)
                return
            del self.cache[ufrag]
        if ufrag in self.pending:
            self.pending[ufrag].append(item)
            return
        self.pending[ufrag] = [item]
        asyncio.get_running_loop().create_task(self._lookup(ufrag))

    async def _fetch(self, ufrag: str) -> tuple[Address, float] | None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(session_key(ufrag))
                pipe.pttl(session_key(ufrag))
                raw, pttl = await pipe.execute()
        except (aioredis.RedisError, OSError) as error:
            self.ctx.log.warning("session lookup failed: %s", error)
            return None
        if raw is None or pttl is None or pttl <= 0:
            return None
        record = SessionRecord.from_wire(raw)
        return parse_address(record.instance), time.monotonic() + pttl / 1000

    async def _lookup(self, ufrag: str) -> None:
        found = await self._fetch(ufrag)
        if found is None and ufrag in self.recent_publish:
            found = await self._fetch(ufrag)
        items = self.pending.pop(ufrag, [])
        if found is None:
            for item in items:
                if Defect.WRONG_DC_ANSWERS_401 in self.defects:
                    self._answer_401(item)
                self.hold(ufrag, item)
            return
        self.cache[ufrag] = found
        for item in self._take_held(ufrag) + items:
            self.forward(found[0], item)

    def hold(self, ufrag: str, item: _Held) -> None:
        if Defect.NO_SESSION_HOLD in self.defects:
            # The bug: "no session, no answer" applied at once, without RACE-3's hold.
            self.counters["defect-dropped-unheld"] += 1
            return
        queue = self.held.get(ufrag)
        if queue is None:
            queue = self.held[ufrag] = collections.deque()
            asyncio.get_running_loop().call_later(HOLD_S, self._expire, ufrag)
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
        self.counters["held"] += 1

    def _take_held(self, ufrag: str) -> list[_Held]:
        queue = self.held.pop(ufrag, None)
        if not queue:
            return []
        self.held_total -= len(queue)
        return list(queue)

    def _expire(self, ufrag: str) -> None:
        queue = self.held.get(ufrag)
        if queue is None:
            return
        deadline = time.monotonic() - HOLD_S
        while queue and queue[0].at <= deadline + 1e-3:
            queue.popleft()
            self.held_total -= 1
            # SESS-4: held past H with no session -> silently gone.
            self.counters["hold-expired"] += 1
        if queue:
            asyncio.get_running_loop().call_later(
                max(queue[0].at + HOLD_S - time.monotonic(), 0.001), self._expire, ufrag
            )
        else:
            del self.held[ufrag]

    def _answer_401(self, item: _Held) -> None:
        """Defect.WRONG_DC_ANSWERS_401: plain RFC 8489 §9.1.3 for an unknown USERNAME,
        where ULLC asks for silence (STUN-44)."""
        _, payload = decode_v2(item.data)
        assert self.listener is not None
        self.listener.sendto(build_binding_error(payload, 401), item.source)
        self.counters["defect-answered-401"] += 1

    def on_published(self, ufrag: str) -> None:
        now = time.monotonic()
        self.recent_publish[ufrag] = now
        if len(self.recent_publish) > 1000:
            self.recent_publish = {
                u: t for u, t in self.recent_publish.items() if now - t < RECENT_PUBLISH_S
            }
        if ufrag in self.held and ufrag not in self.pending:
            self.pending[ufrag] = []
            asyncio.get_running_loop().create_task(self._lookup(ufrag))

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
            try:
                pubsub = self.subscriber.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(SESSIONS_CHANNEL)
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        self.on_published(data.decode("utf-8", "replace"))
            except (aioredis.RedisError, OSError) as error:
                self.ctx.log.debug("pubsub: %s; reconnecting", error)
                await asyncio.sleep(0.2)

    async def warm(self) -> None:
        """Open the lookup connection before the first check needs it."""
        for _ in range(50):
            try:
                await self.redis.ping()
                return
            except (aioredis.RedisError, OSError):
                await asyncio.sleep(0.1)

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            now = time.monotonic()
            for key in [k for k, f in self.flows.items() if now - f.last > FLOW_IDLE_S]:
                self.flows.pop(key).endpoint.close()
            for ufrag in [u for u, (_, exp) in self.cache.items() if exp <= now]:
                del self.cache[ufrag]
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
