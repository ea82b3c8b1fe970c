"""The client's media path for one call: a UDP socket and paced check transactions.

Pacing (RACE-2, STUN-30/31): each transaction sends the *same* datagram every
Tp until the call connects or ends, byte-identical so the bot can treat it as
a retransmission (RACE-5); after 0.5 s unanswered the interval doubles up to
200 ms, so that an overloaded path is not fed a retransmission storm. A new
transaction is started only when the client re-targets (FB-2); the original
keeps pacing alongside it. The first authenticated success of any transaction
resolves :attr:`MediaPath.success`.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.client.checks import (
    CheckStatus,
    Expected,
    Verdict,
    build_check,
    judge_response,
)
from harness.client.result import EventKind, Via
from harness.client.timeline import Timeline
from harness.errors import ProtocolError
from harness.protocol.ice import IceCredentials


def address_text(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class MediaProtocolError(ProtocolError):
    """The bot answered a check with a signed error (420, 487): a broken peer (STUN-33).

    The call fails with outcome ``protocol_error``; the message names the code.
    """


@dataclass(frozen=True)
class CheckSuccess:
    """The authenticated Binding success that connected the call."""

    via: Via
    target: tuple[str, int]
    transaction_id: bytes
    mapped_address: tuple[str, int]
    t_ms: float


@dataclass
class CheckTransaction:
    via: Via
    target: tuple[str, int]
    transaction_id: bytes
    datagram: bytes
    sends: int = 0
    started: float = 0.0
    """loop.time() of the first send: the pacing schedule is absolute from here."""
    timer: asyncio.TimerHandle | None = None
    """The next send, when one is due."""

    def __post_init__(self) -> None:
        # Every send records both in the timeline: rendered once, not per send.
        self.target_text = address_text(self.target)
        self.transaction_hex = self.transaction_id.hex()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, path: MediaPath) -> None:
        self.path = path

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.path._received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and friends: a dead target is what pacing and
        # the deadline are for, so it is recorded nowhere and changes nothing.
        pass


RFC8489_RTO_S = 0.5
"""Initial RTO of plain STUN over UDP (RFC 8489 §6.2.1), doubled after every send."""
BACKOFF_AFTER_S = 0.5
"""STUN-30: how long a transaction paces at Tp before its interval starts doubling:
K = 0.5 s / Tp unanswered sends (10 at the default Tp of 50 ms)."""
BACKOFF_CAP_S = 0.2
"""STUN-30: the longest interval after the back-off; below RACE-3's hold H (250 ms)."""


class Retransmission(StrEnum):
    """When a check transaction is sent again."""

    PACED = "paced"
    """STUN-30: the same transaction every Tp, so a lost check costs one Tp; after
    K unanswered sends the interval doubles up to a cap (RFC 8489 §6.2.1's back-off,
    applied late), so that calls on an overloaded path do not feed a storm."""
    RFC8489 = "rfc8489"
    """Plain STUN's 500 ms doubling RTO: NOT conforming to STUN-30; kept so that the
    suites can show they catch a client that loses 500 ms on one dropped check."""

    @classmethod
    def from_environment(cls) -> Retransmission:
        # Harness self-test knob: run the suites with a deliberately plain-STUN client.
        return cls(os.environ.get("ULLC_CLIENT_RETRANSMISSION", cls.PACED.value))

    def offset_s(self, send_index: int, pacing_s: float) -> float:
        """When send number ``send_index`` (0 = the first) leaves, after the first."""
        if self is Retransmission.RFC8489:
            return RFC8489_RTO_S * float(2**send_index - 1)
        paced_sends = max(1, math.ceil(BACKOFF_AFTER_S / pacing_s - 1e-9))  # K
        steady = min(send_index, paced_sends - 1)
        offset = steady * pacing_s
        # Sends K, K+1, ... wait 2 Tp, 4 Tp, ... but never longer than the cap (nor
        # shorter than Tp, should Tp itself exceed the cap).
        cap = max(BACKOFF_CAP_S, pacing_s)
        interval = pacing_s
        for _ in range(send_index - steady):
            interval = min(interval * 2, cap)
            offset += interval
        return offset


def pacing_interval_at_s(elapsed_s: float, pacing_s: float) -> float:
    """STUN-30's interval between the sends around ``elapsed_s`` after the first: P(D) of
    RACE-4 (Tp for the first 0.5 s, then the back-off interval)."""
    schedule = Retransmission.PACED
    index = 0
    while schedule.offset_s(index + 1, pacing_s) <= elapsed_s:
        index += 1
    return schedule.offset_s(index + 1, pacing_s) - schedule.offset_s(index, pacing_s)


class MediaPath:
    """One call's check socket and transactions. Use :meth:`open`, then :meth:`close` in finally.

    The socket is opened before the call (its address is the local SDP's
    candidate); the call hands over its ``timeline`` when it starts.
    """

    def __init__(
        self,
        client: IceCredentials,
        *,
        tiebreaker: int,
        pacing_s: float,
        timeline: Timeline | None = None,
        retransmission: Retransmission = Retransmission.PACED,
    ) -> None:
        self.client = client
        self.tiebreaker = tiebreaker
        self.pacing_s = pacing_s
        self.retransmission = retransmission
        self.timeline = timeline or Timeline()
        self.transactions: dict[bytes, CheckTransaction] = {}
        self._expected: dict[bytes, Expected] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self.success: asyncio.Future[CheckSuccess] = self._loop.create_future()
        self.edge_success: asyncio.Future[CheckSuccess] = self._loop.create_future()
        """The first authentic success of an EDGE transaction, whenever it came (FB-4)."""

    async def open(self, bind_ip: str | None) -> tuple[str, int]:
        """Bind the check socket to ``bind_ip`` (the client's region) and return its address."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if bind_ip is not None and ":" in bind_ip else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self),
            local_addr=(bind_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), 0),
            family=family,
        )
        self._transport = transport
        local = transport.get_extra_info("sockname")
        return (local[0], local[1])

    def start(self, target: tuple[str, int], via: Via, bot: IceCredentials) -> CheckTransaction:
        """Start a new transaction to ``target``: the first datagram leaves before this returns."""
        if self._transport is None:
            raise RuntimeError("MediaPath.start before open")
        transaction_id, datagram = build_check(bot, self.client, self.tiebreaker)
        transaction = CheckTransaction(via, target, transaction_id, datagram)
        self.transactions[transaction_id] = transaction
        self._expected[transaction_id] = Expected(target, bot)
        transaction.started = self._loop.time()
        self._send(transaction)
        self._schedule(transaction)
        return transaction

    def _send(self, transaction: CheckTransaction) -> None:
        assert self._transport is not None
        transaction.sends += 1
        try:
            self._transport.sendto(transaction.datagram, transaction.target)
        except OSError as error:
            # An unroutable target is a media failure for the deadline to report,
            # not a crash of the call.
            self.timeline.add(
                EventKind.CHECK_SENT,
                target=transaction.target_text,
                transaction=transaction.transaction_hex,
                attempt=transaction.sends,
                error=str(error),
            )
            return
        self.timeline.add(
            EventKind.CHECK_SENT,
            target=transaction.target_text,
            transaction=transaction.transaction_hex,
            attempt=transaction.sends,
            via=transaction.via.value,
        )

    def _schedule(self, transaction: CheckTransaction) -> None:
        # Absolute schedule (start + offset(k)) so event-loop latency does not add up.
        # A timer callback rather than a task per transaction: with hundreds of calls
        # in flight, a send is then one callback, not a task step plus a future.
        offset = self.retransmission.offset_s(transaction.sends, self.pacing_s)
        transaction.timer = self._loop.call_at(
            transaction.started + offset, self._resend, transaction
        )

    def _settled(self, transaction: CheckTransaction) -> bool:
        """No more sends for ``transaction``: the call connected and, for an edge
        transaction, the routing bet's verdict is in too (FB-4)."""
        if not self.success.done():
            return False
        if self.success.cancelled() or self.success.exception() is not None:
            return True
        return transaction.via is not Via.EDGE or self.edge_success.done()

    def _resend(self, transaction: CheckTransaction) -> None:
        transaction.timer = None
        if self._settled(transaction) or self._transport is None or self._transport.is_closing():
            return
        self._send(transaction)
        self._schedule(transaction)

    def _received(self, data: bytes, source: tuple[str, int]) -> None:
        verdict = judge_response(data, source, self._expected)
        self._record(verdict, source)
        if verdict.authenticated_success and not self.edge_success.done():
            assert verdict.transaction_id is not None
            assert verdict.mapped_address is not None
            answered = self.transactions[verdict.transaction_id]
            if answered.via is Via.EDGE:
                self.edge_success.set_result(self._success(answered, verdict.mapped_address))
                if self.success.done():
                    self._stop_pacing()
        if self.success.done():
            return
        if verdict.status is CheckStatus.SIGNED_ERROR:
            self.success.set_exception(
                MediaProtocolError(
                    f"the bot answered a check with signed error {verdict.error_code}"
                    f" from {address_text(source)}",
                    hint="STUN-33: a signed 420/487 means the bot refuses the check's attributes",
                )
            )
            self._stop_pacing()
            return
        if not verdict.authenticated_success:
            return
        assert verdict.transaction_id is not None
        assert verdict.mapped_address is not None
        transaction = self.transactions[verdict.transaction_id]
        self.success.set_result(self._success(transaction, verdict.mapped_address))
        self._stop_pacing(keep_edge=not self.edge_success.done())

    def _success(self, transaction: CheckTransaction, mapped: tuple[str, int]) -> CheckSuccess:
        return CheckSuccess(
            via=transaction.via,
            target=transaction.target,
            transaction_id=transaction.transaction_id,
            mapped_address=mapped,
            t_ms=self.timeline.now_ms(),
        )

    def _record(self, verdict: Verdict, source: tuple[str, int]) -> None:
        detail: dict[str, Any] = {"status": verdict.status.value, "source": address_text(source)}
        if verdict.transaction_id is not None:
            detail["transaction"] = verdict.transaction_id.hex()
        if verdict.status in (CheckStatus.ERROR_RESPONSE, CheckStatus.SIGNED_ERROR):
            detail["error_code"] = verdict.error_code
        if verdict.mapped_address is not None:
            detail["xor_mapped_address"] = address_text(verdict.mapped_address)
        self.timeline.add(EventKind.CHECK_ANSWERED, **detail)

    def _stop_pacing(self, *, keep_edge: bool = False) -> None:
        for transaction in self.transactions.values():
            if keep_edge and transaction.via is Via.EDGE:
                continue
            if transaction.timer is not None:
                transaction.timer.cancel()
                transaction.timer = None

    async def close(self) -> None:
        """Stop every transaction and close the socket; safe to call more than once."""
        self._stop_pacing()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in (self.success, self.edge_success):
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # mark retrieved: no "exception never retrieved" warning

    def describe_attempts(self) -> str:
        """For timeout messages (STUN-32): the addresses tried and the checks sent."""
        if not self.transactions:
            return "no check sent"
        parts = [
            f"{t.sends} to {address_text(t.target)} ({t.via.value})"
            for t in self.transactions.values()
        ]
        return "checks sent: " + ", ".join(parts)
