"""What one call produced: a typed outcome, the numbers and a timeline (FB-4, SIG-14).

A result may carry ufrags (they are public on the wire in every USERNAME) but
never a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.signaling.messages import ErrorCode, Mode


class CallOutcome(StrEnum):
    """How a call ended. Every call ends with exactly one (SIG-14)."""

    CONNECTED = "connected"
    DNS_FAILED = "dns_failed"
    """The global endpoint did not resolve (timeout, NXDOMAIN, no A record)."""
    SIGNALING_ERROR = "signaling_error"
    """The gateway answered ``error``; :attr:`CallResult.error_code` has the code."""
    SIGNALING_TIMEOUT = "signaling_timeout"
    """No answer to ``session.create`` within the call deadline (SIG-14)."""
    MEDIA_TIMEOUT = "media_timeout"
    """Signaling answered but no authenticated Binding success came before the deadline."""
    GATEWAY_CLOSED = "gateway_closed"
    """The persistent gateway connection was lost with the request in flight."""
    PROTOCOL_ERROR = "protocol_error"
    """The gateway answered with something the schema or the flow does not allow."""
    SOCKET_ERROR = "socket_error"
    """The client could not open or use its UDP socket (for example a bad bind address)."""


class EventKind(StrEnum):
    DNS_SENT = "dns_sent"
    DNS_ANSWERED = "dns_answered"
    REQUEST_SENT = "request_sent"
    CHECK_SENT = "check_sent"
    CHECK_ANSWERED = "check_answered"
    RESPONSE_RECEIVED = "response_received"
    RETARGET = "retarget"
    CONNECTED = "connected"
    FAILED = "failed"


@dataclass(frozen=True)
class TimelineEvent:
    """One step of a call; ``t_ms`` is on ``time.monotonic`` relative to the ``connect`` call."""

    kind: EventKind
    t_ms: float
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "t_ms": round(self.t_ms, 3), **self.detail}


class Via(StrEnum):
    """Which check transaction connected the call (FB-4)."""

    EDGE = "edge"
    """The address the client resolved or was configured with: a routing-bet hit."""
    MEDIA = "media"
    """The ``media`` address of ``session.created``: the call fell back."""


@dataclass(frozen=True)
class CallResult:
    """The outcome and measurements of one call."""

    outcome: CallOutcome
    mode: Mode
    connect_ms: float | None = None
    """From ``connect`` to the first authenticated Binding success (overview, definitions)."""
    dc: str | None = None
    session_id: str | None = None
    map_version: str | None = None
    fell_back: bool = False
    """FB-4: the call connected through the response's ``media`` address (its success came
    first); a call can both have fallen back and be a routing-bet hit (:attr:`bet_hit`)."""
    bet_hit: bool = False
    """FB-4: the check transaction through the resolved edge got a success that counts
    (STUN-33) before the result was reported, whichever target answered first."""
    connected_via: Via | None = None
    """The transaction whose success connected the call first (STUN-34)."""
    edge: str | None = None
    """The ``ip:port`` the first checks went to (ULLC) - the routing bet's input."""
    media: str | None = None
    """``media`` of ``session.created`` as ``ip:port``."""
    xor_mapped_address: tuple[str, int] | None = None
    recovery_ms: float | None = None
    """Fell-back calls only: ``session.created`` received -> connected (fallback recovery)."""
    response_ms: float | None = None
    """When ``session.created`` (or ``error``) arrived, relative to ``connect``."""
    error_code: ErrorCode | None = None
    detail: str | None = None
    client_ufrag: str | None = None
    bot_ufrag: str | None = None
    timeline: tuple[TimelineEvent, ...] = ()
    started_at: float | None = None
    """``time.monotonic()`` when ``connect`` was called: every ``t_ms`` is relative to it."""

    @property
    def connected(self) -> bool:
        return self.outcome is CallOutcome.CONNECTED

    def first_ms(self, kind: EventKind) -> float | None:
        """When the call's first ``kind`` event happened (ms after ``connect``), or None."""
        return next((event.t_ms for event in self.timeline if event.kind is kind), None)

    @property
    def signaling_ms(self) -> float | None:
        """The signaling round trip: request sent -> answer received (None without both)."""
        sent = self.first_ms(EventKind.REQUEST_SENT)
        if sent is None or self.response_ms is None:
            return None
        return self.response_ms - sent

    @property
    def failure(self) -> str | None:
        """``None`` when connected, else the outcome name, with the code for signaling errors."""
        if self.connected:
            return None
        if self.outcome is CallOutcome.SIGNALING_ERROR and self.error_code is not None:
            return f"{self.outcome.value}({self.error_code.value})"
        return self.outcome.value

    def to_json(self, *, timeline: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "outcome": self.outcome.value,
            "mode": self.mode.value,
            "connect_ms": None if self.connect_ms is None else round(self.connect_ms, 3),
            "dc": self.dc,
            "session_id": self.session_id,
            "map_version": self.map_version,
            "fell_back": self.fell_back,
            "bet_hit": self.bet_hit,
            "connected_via": None if self.connected_via is None else self.connected_via.value,
            "edge": self.edge,
            "media": self.media,
            "xor_mapped_address": (
                None if self.xor_mapped_address is None else list(self.xor_mapped_address)
            ),
            "recovery_ms": None if self.recovery_ms is None else round(self.recovery_ms, 3),
            "error_code": None if self.error_code is None else self.error_code.value,
            "detail": self.detail,
            "client_ufrag": self.client_ufrag,
            "bot_ufrag": self.bot_ufrag,
        }
        if timeline:
            body["timeline"] = [event.to_json() for event in self.timeline]
        return body
