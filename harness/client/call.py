"""One call, start to outcome: the ULLC race and the sequential baseline.

ULLC (overview, SIG-4/5, RACE-1/2, FB-2): once the edge address is known the
first check and ``session.create`` leave together; checks pace at Tp; on
``session.created`` while not connected a second transaction starts towards
``media`` and both continue; the first authenticated success wins. The call
is connected only with its ``session.created`` (SIG-16): an error answer, or none by
the one deadline (SIG-15), fails it even after a check succeeded.

Sequential (SIG-9): ``session.create`` without ``bot``/``edge_ip``; checks
start only after the answer, towards its ``media`` with its credentials.

Every path ends in a :class:`CallResult`; the ``finally`` of :meth:`Call.run`
closes the socket and cancels the pacers whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.client.dns import DnsFailedError
from harness.client.gateway import (
    Answer,
    GatewayClosedError,
    GatewayConnection,
    GatewayProtocolError,
)
from harness.client.media import CheckSuccess, MediaPath, MediaProtocolError, address_text
from harness.client.offer import CallOffer
from harness.client.result import CallOutcome, CallResult, EventKind, Via
from harness.client.timeline import Timeline
from harness.protocol.ice import IceCredentials
from harness.signaling.messages import (
    ErrorCode,
    Mode,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
)

EdgeResolver = Callable[[Timeline, float], Awaitable[tuple[str, int]]]
"""Given the timeline and the seconds left, the edge address to ping (raises DnsFailedError)."""


@dataclass(frozen=True)
class CallSettings:
    deadline_s: float
    media_hops: Mapping[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    """TGT-7: a ``media`` address -> the harness hop the client sends to instead."""

    def via_hop(self, address: tuple[str, int]) -> tuple[str, int]:
        return self.media_hops.get(address, address)


class _Failed(Exception):
    """Internal: ends a call early with a typed outcome."""

    def __init__(
        self, outcome: CallOutcome, detail: str, error_code: ErrorCode | None = None
    ) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.error_code = error_code


def _same_address(a: tuple[str, int], b: tuple[str, int]) -> bool:
    try:
        return ipaddress.ip_address(a[0]) == ipaddress.ip_address(b[0]) and a[1] == b[1]
    except ValueError:
        return a == b


class Call:
    """The state of one call; create, then ``await run()`` exactly once."""

    def __init__(
        self,
        *,
        t0: float,
        mode: Mode,
        offer: CallOffer,
        media: MediaPath,
        request_id: str,
        gateway: GatewayConnection,
        resolve_edge: EdgeResolver,
        settings: CallSettings,
    ) -> None:
        self.timeline = Timeline(t0)
        self.mode = mode
        self.offer = offer
        self.media = media
        media.timeline = self.timeline
        self.request_id = request_id
        self.gateway = gateway
        self.resolve_edge = resolve_edge
        self.settings = settings
        self.loop = asyncio.get_running_loop()
        # loop.time() is time.monotonic() on the default loop; anchor at t0 all the same.
        self.deadline = self.loop.time() - self.timeline.now_ms() / 1000.0 + settings.deadline_s
        self.edge: tuple[str, int] | None = None
        self.answer: SessionCreated | None = None
        self.error: SignalingError | None = None
        self.response_ms: float | None = None
        self.success: CheckSuccess | None = None
        self.notes: list[str] = []

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.loop.time())

    async def run(self) -> CallResult:
        media = self.media
        try:
            if self.mode is Mode.ULLC:
                await self._ullc(media)
            else:
                await self._sequential(media)
            return self._result()
        except _Failed as failed:
            return self._result(failed)
        finally:
            await media.close()
            self.gateway.forget(self.request_id)

    # -- the two flows -------------------------------------------------

    async def _ullc(self, media: MediaPath) -> None:
        try:
            edge = await self.resolve_edge(self.timeline, self.remaining())
        except DnsFailedError as error:
            raise _Failed(CallOutcome.DNS_FAILED, error.message) from error
        self.edge = edge
        # RACE-1 / SIG-5: the first check leaves inside start(), and the request
        # right after it, with nothing awaited in between but the socket write.
        media.start(edge, Via.EDGE, self.offer.bot)
        request = SessionCreateRequest(
            request_id=self.request_id,
            mode=Mode.ULLC,
            client=self.offer.client_offer(),
            bot=self.offer.bot_credentials(),
            edge_ip=edge[0],
        )
        answer_future = await self._send(request)
        await self._race(media, answer_future)

    async def _sequential(self, media: MediaPath) -> None:
        request = SessionCreateRequest(
            request_id=self.request_id, mode=Mode.SEQUENTIAL, client=self.offer.client_offer()
        )
        answer_future = await self._send(request)
        done, _ = await asyncio.wait({answer_future}, timeout=self.remaining())
        if not done:
            raise _Failed(
                CallOutcome.SIGNALING_TIMEOUT, f"no answer to session.create {self.request_id}"
            )
        answer = self._take_answer(answer_future)
        if answer.bot is None:
            raise _Failed(
                CallOutcome.PROTOCOL_ERROR,
                "sequential session.created without bot credentials (SIG-9)",
            )
        bot = IceCredentials(answer.bot.ice_ufrag, answer.bot.ice_pwd)
        media.start(self.settings.via_hop(answer.media.as_tuple()), Via.MEDIA, bot)
        connected, _ = await asyncio.wait({media.success}, timeout=self.remaining())
        if not connected:
            raise _Failed(
                CallOutcome.MEDIA_TIMEOUT,
                f"no authenticated Binding success; {media.describe_attempts()}",
            )
        self._connected(self._take_success(media))

    async def _race(self, media: MediaPath, answer_future: asyncio.Future[Answer]) -> None:
        while self.success is None or (self.answer is None and self.error is None):
            waiting: set[asyncio.Future[Any]] = set()
            if self.success is None:
                waiting.add(media.success)
            if self.answer is None and self.error is None:
                waiting.add(answer_future)
            done, _ = await asyncio.wait(
                waiting, timeout=self.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                break
            if media.success in done:
                self._connected(self._take_success(media))
            if answer_future in done:
                try:
                    answer = self._take_answer(answer_future)
                except _Failed as failed:
                    # SIG-16: no session.created, no call, even if a check already
                    # succeeded: that success came from a session this request did
                    # not create (on `conflict`, the one already holding the ufrag).
                    raise self._after_success(failed) from None
                if self.success is None:
                    self._retarget(media, answer)
        if self.answer is None:
            raise self._after_success(
                _Failed(
                    CallOutcome.SIGNALING_TIMEOUT,
                    f"no answer to session.create {self.request_id}; {media.describe_attempts()}",
                )
            )
        if self.success is None:
            raise _Failed(
                CallOutcome.MEDIA_TIMEOUT,
                f"no authenticated Binding success; {media.describe_attempts()}",
            )
        await self._await_bet_verdict(media)

    async def _await_bet_verdict(self, media: MediaPath) -> None:
        """FB-4: a call is a routing-bet hit when its edge transaction got an authentic
        success, whichever path answered first. After a media-first connect the edge
        transaction keeps pacing (media.py) for as long as a fallback may take to
        connect (FB-5: the media round trip this call saw, plus 2 Tp + 50 ms)."""
        success = self.success
        if success is None or success.via is Via.EDGE or media.edge_success.done():
            return
        retarget = next(
            (e.t_ms for e in self.timeline.events if e.kind is EventKind.RETARGET), success.t_ms
        )
        window_s = (success.t_ms - retarget) / 1000 + 2 * media.pacing_s + 0.05
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.shield(media.edge_success), min(window_s, self.remaining())
            )

    def _after_success(self, failed: _Failed) -> _Failed:
        """``failed`` with a note of the check success that no longer makes the call (SIG-16)."""
        if self.success is None:
            return failed
        detail = (
            f"{failed.detail}; a check had succeeded at {self.success.t_ms:.1f} ms via "
            f"{self.success.via.value}, but without session.created the call is not "
            "connected (SIG-16)"
        )
        return _Failed(failed.outcome, detail, failed.error_code)

    # -- steps ---------------------------------------------------------

    async def _send(self, request: SessionCreateRequest) -> asyncio.Future[Answer]:
        try:
            future = await self.gateway.send(request)
        except GatewayClosedError as error:
            raise _Failed(CallOutcome.GATEWAY_CLOSED, error.message) from error
        self.timeline.add(
            EventKind.REQUEST_SENT, request_id=self.request_id, mode=request.mode.value
        )
        return future

    def _take_answer(self, future: asyncio.Future[Answer]) -> SessionCreated:
        try:
            answer = future.result()
        except GatewayClosedError as error:
            raise _Failed(CallOutcome.GATEWAY_CLOSED, error.message) from error
        except GatewayProtocolError as error:
            raise _Failed(CallOutcome.PROTOCOL_ERROR, error.message) from error
        self.response_ms = self.timeline.now_ms()
        if isinstance(answer, SignalingError):
            self.error = answer
            self.timeline.add(
                EventKind.RESPONSE_RECEIVED,
                type="error",
                code=answer.code.value,
                retryable=answer.retryable,
            )
            raise _Failed(
                CallOutcome.SIGNALING_ERROR,
                f"gateway answered error {answer.code.value}: {answer.message}",
                answer.code,
            )
        self.answer = answer
        self.timeline.add(
            EventKind.RESPONSE_RECEIVED,
            type="session.created",
            session_id=answer.session_id,
            dc=answer.dc,
            media=address_text(answer.media.as_tuple()),
            map_version=answer.map_version,
        )
        if (
            self.mode is Mode.ULLC
            and answer.bot is not None
            and (answer.bot.ice_ufrag, answer.bot.ice_pwd)
            != (self.offer.bot.ufrag, self.offer.bot.pwd)
        ):
            raise _Failed(
                CallOutcome.PROTOCOL_ERROR,
                "session.created carries bot credentials other than the request's (SIG-10)",
            )
        return answer

    def _retarget(self, media: MediaPath, answer: SessionCreated) -> None:
        """FB-2: not connected yet, so also check towards ``media``; the edge keeps pacing."""
        # Compared after the hop translation: a media address that is the edge itself
        # (a bot answering at the edge) is the same path through the same hop.
        target = self.settings.via_hop(answer.media.as_tuple())
        if self.edge is not None and _same_address(target, self.edge):
            return
        self.timeline.add(EventKind.RETARGET, target=address_text(target), dc=answer.dc)
        media.start(target, Via.MEDIA, self.offer.bot)

    def _take_success(self, media: MediaPath) -> CheckSuccess:
        try:
            return media.success.result()
        except MediaProtocolError as error:
            raise _Failed(CallOutcome.PROTOCOL_ERROR, error.message) from error

    def _connected(self, success: CheckSuccess) -> None:
        self.success = success
        # Stamped with the instant the datagram was judged, not when this coroutine ran.
        self.timeline.add_at(
            EventKind.CONNECTED,
            success.t_ms,
            via=success.via.value,
            target=address_text(success.target),
            transaction=success.transaction_id.hex(),
        )

    # -- the result ----------------------------------------------------

    def _result(self, failed: _Failed | None = None) -> CallResult:
        if failed is not None:
            self.timeline.add(EventKind.FAILED, outcome=failed.outcome.value, detail=failed.detail)
            outcome = failed.outcome
            detail: str | None = failed.detail
        else:
            outcome = CallOutcome.CONNECTED
            detail = "; ".join(self.notes) or None
        success = self.success if failed is None else None
        edge_hit = self.media.edge_success.done() and not self.media.edge_success.cancelled()
        bet_hit = self.mode is Mode.ULLC and success is not None and edge_hit
        fell_back = self.mode is Mode.ULLC and success is not None and success.via is Via.MEDIA
        recovery_ms = None
        if fell_back and success is not None and self.response_ms is not None:
            recovery_ms = success.t_ms - self.response_ms
        answer = self.answer
        return CallResult(
            outcome=outcome,
            mode=self.mode,
            connect_ms=None if success is None else success.t_ms,
            dc=None if answer is None else answer.dc,
            session_id=None if answer is None else answer.session_id,
            map_version=None if answer is None else answer.map_version,
            fell_back=fell_back,
            bet_hit=bet_hit,
            edge=None if self.edge is None else address_text(self.edge),
            connected_via=None if success is None else success.via,
            media=None if answer is None else address_text(answer.media.as_tuple()),
            xor_mapped_address=None if success is None else success.mapped_address,
            recovery_ms=recovery_ms,
            response_ms=self.response_ms,
            error_code=None if self.error is None else self.error.code,
            detail=detail,
            client_ufrag=self.offer.client.ufrag,
            bot_ufrag=self.offer.bot.ufrag if self.mode is Mode.ULLC else self._answer_bot_ufrag(),
            timeline=self.timeline.freeze(),
            started_at=self.timeline.t0,
        )

    def _answer_bot_ufrag(self) -> str | None:
        if self.answer is None or self.answer.bot is None:
            return None
        return self.answer.bot.ice_ufrag
