"""What a client did on the wire, call by call, from the hops' capture records.

Records come from the ``client-dns``, ``client-gateway`` and every ``client-edge.*``
link (``upstream`` = from the client). A call is keyed by its bot ufrag: the
``session.create`` names it (or, in sequential mode, the response does), and every check
of the call carries it before the colon of USERNAME (STUN-21). Times are the hop
server's ``time.monotonic``: an upstream record's ``in`` is when the client's packet
reached the hop, a downstream record's ``out`` when the hop handed it to the client.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.message

from harness.client.result import CallOutcome, CallResult
from harness.client_target.websocket_stream import WsMessage, text_messages
from harness.fixtures.captures import Captured
from harness.protocol.errors import StunParseError
from harness.protocol.stun_integrity import short_term_key
from harness.protocol.stun_message import (
    Method,
    StunMessage,
    parse_message,
    verify_fingerprint,
    verify_integrity,
)
from harness.protocol.stun_wire import MessageClass
from harness.signaling.messages import Mode

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"


@dataclass(frozen=True)
class DnsQuery:
    t: float
    source: str
    name: str


@dataclass(frozen=True)
class Check:
    """A Binding request as it reached the hop of ``link`` (sent to ``destination``)."""

    t: float
    link: str
    source: str
    destination: str
    message: StunMessage

    @property
    def bot_ufrag(self) -> str | None:
        username = self.message.username
        return None if username is None or ":" not in username else username.split(":")[0]


@dataclass(frozen=True)
class Answer:
    """A Binding response as the hop of ``link`` handed it to the client."""

    t: float
    link: str
    message: StunMessage


@dataclass
class WireCall:
    """One call as the hops saw it."""

    bot_ufrag: str
    create: WsMessage | None = None
    response: WsMessage | None = None
    checks: list[Check] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    dns_queries: list[DnsQuery] = field(default_factory=list)

    @property
    def bot_pwd(self) -> str | None:
        for message in (self.create, self.response):
            bot = None if message is None else message.body.get("bot")
            if isinstance(bot, dict) and isinstance(bot.get("ice_pwd"), str):
                return str(bot["ice_pwd"])
        return None

    @property
    def first_send(self) -> float:
        """When the call's first request (check or ``session.create``) reached a hop."""
        times = [check.t for check in self.checks[:1]]
        if self.create is not None:
            times.append(self.create.t)
        return min(times)

    @property
    def started_at(self) -> float:
        """The call's first packet: its DNS query, else its first request."""
        return min([self.first_send, *(query.t for query in self.dns_queries)])

    def authentic(self, answer: Answer) -> bool:
        """STUN-33: a success for one of the call's transactions, FINGERPRINT and
        MESSAGE-INTEGRITY (keyed with the bot's password) both verified."""
        pwd = self.bot_pwd
        sent = {check.message.transaction_id for check in self.checks}
        return (
            pwd is not None
            and answer.message.message_class is MessageClass.SUCCESS
            and answer.message.transaction_id in sent
            and verify_fingerprint(answer.message) is True
            and verify_integrity(answer.message, short_term_key(pwd)) is True
        )

    @property
    def connected_at(self) -> float | None:
        return next((a.t for a in self.answers if self.authentic(a)), None)

    @property
    def connect_ms(self) -> float | None:
        connected = self.connected_at
        return None if connected is None else (connected - self.started_at) * 1000.0

    def as_result(self) -> CallResult:
        """The call as the harness's reports count calls, from the wire alone: connected
        when an authentic success reached the client, else a media timeout (the answer the
        client waited for never came); fell back when that success answered a check sent
        to the response's media address rather than to the first address pinged."""
        connected = self.connected_at
        body = {} if self.create is None else self.create.body
        mode = Mode.SEQUENTIAL if body.get("mode") == Mode.SEQUENTIAL.value else Mode.ULLC
        winner = next((a for a in self.answers if self.authentic(a)), None)
        sent_to = {c.message.transaction_id: c.destination for c in self.checks}
        first = self.checks[0].destination if self.checks else None
        fell_back = (
            winner is not None
            and mode is Mode.ULLC
            and sent_to.get(winner.message.transaction_id) not in (None, first)
        )
        # FB-4: a hit when a check to the first address got a success that counts,
        # whichever target answered first.
        bet_hit = (
            connected is not None
            and mode is Mode.ULLC
            and any(
                self.authentic(a) and sent_to.get(a.message.transaction_id) == first
                for a in self.answers
            )
        )
        return CallResult(
            outcome=CallOutcome.CONNECTED if connected is not None else CallOutcome.MEDIA_TIMEOUT,
            mode=mode,
            connect_ms=self.connect_ms,
            fell_back=fell_back,
            bet_hit=bet_hit,
            edge=first,
            media=self.media_address(),
            bot_ufrag=self.bot_ufrag,
            started_at=self.started_at,
        )

    def checks_to(self, destination: str) -> list[Check]:
        return [check for check in self.checks if check.destination == destination]

    def media_address(self) -> str | None:
        """``ip:port`` of the response's ``media``, if the response named one."""
        media = None if self.response is None else self.response.body.get("media")
        if isinstance(media, dict) and "ip" in media and "port" in media:
            return f"{media['ip']}:{media['port']}"
        return None


@dataclass
class WireLog:
    """Every call of one client run, in the order they started, plus connection facts."""

    calls: list[WireCall]
    dns_queries: list[DnsQuery]
    gateway_connections: list[tuple[float, str]]
    """(first bytes seen, client address) of every TCP connection to the gateway hop."""
    stray_checks: list[Check]
    """Binding requests that name no call this run created (no ``session.create`` seen)."""


def _stun(data: bytes) -> StunMessage | None:
    try:
        message = parse_message(data)
    except (StunParseError, ValueError):
        return None
    return message if message.method == Method.BINDING else None


def _dns_query(record: Captured) -> DnsQuery | None:
    try:
        message = dns.message.from_wire(record.data)
    except (dns.exception.DNSException, ValueError):
        return None
    if message.flags & dns.flags.QR or not message.question:
        return None
    return DnsQuery(record.t, record.src, message.question[0].name.to_text())


def read_wire(records: Mapping[str, Sequence[Captured]], listen: Mapping[str, str]) -> WireLog:
    """Calls out of the capture records of ``client-dns``, ``client-gateway`` and
    ``client-edge.*`` (keys are link names; other links are ignored). ``listen`` maps each
    link to the ``ip:port`` its hop listens on: where the client sent what crossed it (a
    record's own ``dst`` is the hop's next hop)."""
    dns_queries = sorted(
        (
            query
            for link, found in records.items()
            if link.startswith("client-dns")
            for record in found
            if record.direction == UPSTREAM and record.stage == "in"
            for query in [_dns_query(record)]
            if query is not None
        ),
        key=lambda query: query.t,
    )
    gateway_records = [
        record
        for link, found in records.items()
        if link.startswith("client-gateway")
        for record in found
    ]
    creates, responses, connections = _signaling(gateway_records)
    calls: dict[str, WireCall] = {}
    by_request: dict[str, WireCall] = {}
    for message in creates:
        if message.body.get("type") != "session.create":
            continue
        bot = message.body.get("bot")
        request_id = str(message.body.get("request_id"))
        key = str(bot.get("ice_ufrag")) if isinstance(bot, dict) else f"request:{request_id}"
        call = calls.setdefault(key, WireCall(key))
        call.create = message
        by_request[request_id] = call
    for message in responses:
        call_of = by_request.get(str(message.body.get("request_id")))
        if call_of is None or call_of.response is not None:
            continue
        call_of.response = message
        bot = message.body.get("bot")
        if call_of.bot_ufrag.startswith("request:") and isinstance(bot, dict):
            # Sequential mode: the bot's credentials come back in the response.
            calls.pop(call_of.bot_ufrag, None)
            call_of.bot_ufrag = str(bot.get("ice_ufrag"))
            calls[call_of.bot_ufrag] = call_of
    stray: list[Check] = []
    answers: list[Answer] = []
    for link, found in records.items():
        if not link.startswith("client-edge"):
            continue
        for record in found:
            stun = _stun(record.data)
            if stun is None:
                continue
            if record.direction == UPSTREAM and record.stage == "in" and stun.is_binding_request:
                check = Check(record.t, link, record.src, listen.get(link, record.dst), stun)
                owner = calls.get(check.bot_ufrag or "")
                (stray if owner is None else owner.checks).append(check)
            elif record.direction == DOWNSTREAM and record.stage == "out":
                answers.append(Answer(record.t, link, stun))
    owner_of = {
        check.message.transaction_id: call for call in calls.values() for check in call.checks
    }
    for answer in answers:
        answered = owner_of.get(answer.message.transaction_id)
        if answered is not None:
            answered.answers.append(answer)
    ordered = sorted(
        (call for call in calls.values() if call.checks or call.create is not None),
        key=lambda call: call.first_send,
    )
    for call in ordered:
        call.checks.sort(key=lambda check: check.t)
        call.answers.sort(key=lambda answer: answer.t)
    _assign_dns(ordered, dns_queries)
    return WireLog(ordered, dns_queries, connections, sorted(stray, key=lambda c: c.t))


def _signaling(
    records: Iterable[Captured],
) -> tuple[list[WsMessage], list[WsMessage], list[tuple[float, str]]]:
    """Client messages, gateway messages and connection starts, per TCP connection."""
    upstream: dict[str, list[tuple[float, bytes]]] = defaultdict(list)
    downstream: dict[str, list[tuple[float, bytes]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.t):
        if record.direction == UPSTREAM and record.stage == "in":
            upstream[record.src].append((record.t, record.data))
        elif record.direction == DOWNSTREAM and record.stage == "out":
            downstream[record.dst].append((record.t, record.data))
    creates = [
        message
        for segments in upstream.values()
        for message in text_messages(segments, from_client=True)
    ]
    responses = [
        message
        for segments in downstream.values()
        for message in text_messages(segments, from_client=False)
    ]
    connections = sorted((segments[0][0], client) for client, segments in upstream.items())
    return (
        sorted(creates, key=lambda m: m.t),
        sorted(responses, key=lambda m: m.t),
        connections,
    )


def _assign_dns(calls: Sequence[WireCall], queries: Sequence[DnsQuery]) -> None:
    """A DNS query belongs to the next call that starts after it, if no earlier call was
    still connecting when it was sent (a query made for call n+1 while call n ran)."""
    previous_end = float("-inf")
    for call in calls:
        call.dns_queries = [q for q in queries if previous_end < q.t <= call.first_send]
        connected = call.connected_at
        previous_end = connected if connected is not None else call.first_send


def summary(log: WireLog) -> dict[str, Any]:
    """Plain data for evidence: per call, when each step happened (ms after its start)."""
    rows = []
    for call in log.calls:
        start = call.started_at

        def ms(t: float | None, start: float = start) -> float | None:
            return None if t is None else round((t - start) * 1000.0, 2)

        rows.append(
            {
                "bot_ufrag": call.bot_ufrag,
                "dns_queries": len(call.dns_queries),
                "create_ms": ms(None if call.create is None else call.create.t),
                "first_check_ms": ms(call.checks[0].t if call.checks else None),
                "checks": len(call.checks),
                "response_ms": ms(None if call.response is None else call.response.t),
                "connected_ms": ms(call.connected_at),
            }
        )
    return {"calls": rows, "gateway_connections": len(log.gateway_connections)}
